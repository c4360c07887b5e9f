import { describe, expect, test } from "bun:test";
import { clientIp, parseCidrs } from "./client-ip";

describe("client address", () => {
  const lb = parseCidrs("10.0.0.0/8, 127.0.0.1, fd00::/8");

  test("without trusted proxies it is the socket peer, whatever X-Forwarded-For says", () => {
    expect(clientIp("203.0.113.9", "6.6.6.6", [])).toBe("203.0.113.9");
    expect(clientIp("10.1.2.3", "6.6.6.6", [])).toBe("10.1.2.3");
  });

  test("an untrusted peer's X-Forwarded-For is ignored", () => {
    expect(clientIp("203.0.113.9", "6.6.6.6", lb)).toBe("203.0.113.9");
  });

  test("behind trusted proxies: the right-most address that is not itself trusted", () => {
    expect(clientIp("10.0.0.5", "198.51.100.7", lb)).toBe("198.51.100.7");
    // a client that forges the header only adds hops to the left of the one the proxy appended
    expect(clientIp("10.0.0.5", "6.6.6.6, 198.51.100.7", lb)).toBe("198.51.100.7");
    expect(clientIp("10.0.0.5", "6.6.6.6, 198.51.100.7, 10.9.9.9, 127.0.0.1", lb)).toBe("198.51.100.7");
  });

  test("IPv4-mapped IPv6 peers and IPv6 ranges", () => {
    expect(clientIp("::ffff:127.0.0.1", "198.51.100.7", lb)).toBe("198.51.100.7");
    expect(clientIp("fd12::1", "2001:db8::1", lb)).toBe("2001:db8::1");
    expect(clientIp("fe80::1", "2001:db8::1", lb)).toBe("fe80::1");
  });

  test("garbage in the header never becomes the address", () => {
    expect(clientIp("10.0.0.5", "not-an-ip", lb)).toBe("10.0.0.5");
    expect(clientIp("10.0.0.5", "1.2.3.4:5678", lb)).toBe("10.0.0.5");
    expect(clientIp("10.0.0.5", "", lb)).toBe("10.0.0.5");
    expect(clientIp("10.0.0.5", undefined, lb)).toBe("10.0.0.5");
  });

  test("when every hop is trusted, the left-most one", () => {
    expect(clientIp("10.0.0.5", "10.0.0.1, 10.0.0.2", lb)).toBe("10.0.0.1");
  });

  test("prefixes are matched bit by bit", () => {
    const narrow = parseCidrs("192.168.1.128/25");
    expect(clientIp("192.168.1.200", "198.51.100.7", narrow)).toBe("198.51.100.7");
    expect(clientIp("192.168.1.100", "198.51.100.7", narrow)).toBe("192.168.1.100");
  });

  test("a wrong TRUSTED_PROXIES entry stops the start", () => {
    expect(() => parseCidrs("10.0.0.0/33")).toThrow("bad prefix");
    expect(() => parseCidrs("example.com")).toThrow("not an address");
    expect(parseCidrs("")).toEqual([]);
  });
});
