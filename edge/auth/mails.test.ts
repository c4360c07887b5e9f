import { describe, expect, test } from "bun:test";
import { prefixPattern } from "./admin-users";
import { mailLink, renderMail } from "./mails";

describe("mails", () => {
  test("the links have the contract's form, whatever the base's trailing slash", () => {
    expect(mailLink("http://localhost:3000", "verify_email", "abc_-1")).toBe(
      "http://localhost:3000/verify-email?token=abc_-1",
    );
    expect(mailLink("https://shop.example/", "reset_password", "t")).toBe(
      "https://shop.example/reset-password?token=t",
    );
  });

  test("the text part holds the link on a line of its own; the HTML part escapes what the user typed", () => {
    const link = mailLink("http://localhost:3000", "verify_email", "tok");
    const m = renderMail("verify_email", { name: `<img src=x onerror="alert(1)">`, link });
    expect(m.subject).toBe("Confirm your email address");
    expect(m.text.split("\n")).toContain(link);
    expect(m.html).toContain(`href="${link}"`);
    expect(m.html).not.toContain("<img");
    expect(m.html).toContain("&#60;img src=x onerror=&#34;alert(1)&#34;&#62;");
  });

  test("each purpose says how long its link works", () => {
    expect(renderMail("verify_email", { name: "a", link: "l" }).text).toContain("24 hours");
    expect(renderMail("reset_password", { name: "a", link: "l" }).text).toContain("30 minutes");
  });
});

describe("prefixPattern", () => {
  test("LIKE's wildcards and escape are literal; the pattern only adds the trailing %", () => {
    expect(prefixPattern("ann")).toBe("ann%");
    expect(prefixPattern("a_b%c\\d")).toBe("a\\_b\\%c\\\\d%");
  });
});
