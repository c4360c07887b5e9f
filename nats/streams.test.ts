// ensureStreams on a private NATS server: creates what is missing, updates what is there, and fails on a
// failure that is not the library's not-found answer instead of trying to create over it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type PrivateNats, startPrivateNats } from "../scripts/lib/private-stack";
import { consumers, ensureStreams, streams } from "./streams";

let nats: PrivateNats | undefined;
beforeAll(async () => {
  nats = await startPrivateNats("ensure-streams-test");
});
afterAll(async () => {
  await nats?.stop();
});

test("a stream and a consumer deleted are made again; the rest are updated in place", async () => {
  const jsm = await jetstreamManager(nats!.nc);
  await jsm.streams.delete("COUPONS");
  await jsm.consumers.delete("ORDERS", consumers.order[0].durable);
  const before = (await jsm.streams.info("ORDERS")).created;
  await ensureStreams(jsm);
  expect((await jsm.streams.names().next()).sort()).toEqual(Object.keys(streams).sort());
  expect((await jsm.consumers.info("ORDERS", consumers.order[0].durable)).config.filter_subject).toBe(
    consumers.order[0].filter,
  );
  expect((await jsm.streams.info("COUPONS")).config.subjects).toEqual([...streams.COUPONS]);
  expect((await jsm.streams.info("ORDERS")).created).toEqual(before);
});

test("a failure other than not-found is thrown, nothing created over it", async () => {
  const added: string[] = [];
  const flaky = {
    streams: {
      info: () => Promise.reject(new Error("TIMEOUT")),
      add: (c: { name: string }) => {
        added.push(c.name);
        return Promise.resolve();
      },
      update: () => Promise.resolve(),
    },
  } as unknown as JetStreamManager;
  await expect(ensureStreams(flaky)).rejects.toThrow("TIMEOUT");
  expect(added).toEqual([]);
});
