import { describe, expect, test } from "bun:test";
import { sseParser } from "./sse";

describe("sseParser", () => {
  test("events split anywhere across chunks, comments skipped, ids kept, multi-line data joined", () => {
    const parse = sseParser();
    expect(parse(": keep-alive\n\nevent: sta")).toEqual([]);
    expect(parse('tus\nid: 3\ndata: {"a":1}\n')).toEqual([]);
    expect(parse("\nevent: sales\ndata: x\ndata: y\n\ndata: plain\r\n\r\n")).toEqual([
      { event: "status", data: '{"a":1}', id: "3" },
      { event: "sales", data: "x\ny", id: "3" },
      { event: "message", data: "plain", id: "3" },
    ]);
  });

  test("a block without data is no event; a field without a colon is a name with an empty value", () => {
    const parse = sseParser();
    expect(parse("event: x\n\ndata\n\n")).toEqual([{ event: "message", data: "" }]);
  });
});
