import { describe, expect, test } from "bun:test";
import { headers } from "@nats-io/transport-node";
import { letterHeaders, readLetter, replayHeaders } from "./dlq";
import { headerRecord } from "./envelope";

describe("dead-letter headers", () => {
  const original = headers();
  original.set("Nats-Msg-Id", "m1");
  original.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

  test("a letter keeps the original's headers but its id, and says where it came from and why", () => {
    const h = letterHeaders(
      original,
      { subject: "inventory.cmd.release", consumer: "inventory", deliveries: 6 },
      new Error("boom\r\nagain"),
    );
    expect(headerRecord(h)).toEqual({
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "Dlq-Subject": "inventory.cmd.release",
      "Dlq-Consumer": "inventory",
      "Dlq-Deliveries": "6",
      "Dlq-Error": "boom again",
    });
    expect(readLetter(h, "dlq.inventory")).toEqual({
      subject: "inventory.cmd.release",
      consumer: "inventory",
      deliveries: 6,
      error: "boom again",
    });
    expect(headerRecord(replayHeaders(h))).toEqual({
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    });
  });

  test("a letter without its headers is read with its own subject", () => {
    expect(readLetter(undefined, "dlq.x")).toEqual({ subject: "dlq.x", consumer: "", deliveries: 0, error: "" });
  });
});
