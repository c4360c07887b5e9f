// The client's address: the socket peer, unless that peer is a trusted proxy; then the right-most
// X-Forwarded-For address that is not itself trusted.
import { isIP } from "node:net";

type Cidr = { v6: boolean; net: bigint; mask: bigint };

function toBig(ip: string): { v6: boolean; n: bigint } | undefined {
  const mapped = ip.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i);
  if (mapped) ip = mapped[1]!;
  const kind = isIP(ip);
  if (kind === 4) return { v6: false, n: ip.split(".").reduce((a, o) => (a << 8n) + BigInt(Number(o)), 0n) };
  if (kind !== 6) return undefined;
  const [head, tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return { v6: true, n: groups.reduce((a, g) => (a << 16n) + BigInt(parseInt(g, 16)), 0n) };
}

export function parseCidrs(list: string): Cidr[] {
  return list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [addr, bitsText] = s.split("/");
      const ip = toBig(addr!);
      if (!ip) throw new Error(`TRUSTED_PROXIES: not an address: ${s}`);
      const width = ip.v6 ? 128 : 32;
      const bits = bitsText === undefined ? width : Number(bitsText);
      if (!Number.isInteger(bits) || bits < 0 || bits > width) throw new Error(`TRUSTED_PROXIES: bad prefix: ${s}`);
      const mask = ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
      return { v6: ip.v6, net: ip.n & mask, mask };
    });
}

export function clientIp(peer: string, forwardedFor: string | undefined, trusted: Cidr[]): string {
  const isTrusted = (ip: string) => {
    const b = toBig(ip);
    return !!b && trusted.some((c) => c.v6 === b.v6 && (b.n & c.mask) === c.net);
  };
  if (!trusted.length || !isTrusted(peer) || !forwardedFor) return peer;
  const hops = forwardedFor
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!isTrusted(hops[i]!)) return isIP(hops[i]!) ? hops[i]! : peer;
  return hops[0] ?? peer;
}
