// Acked publishes over one reply subscription, on a private NATS server: stored once under their message
// id, refused when no stream takes the subject or the stream refuses them or acks them past their deadline; a
// JetStream manager that could not be made is made again.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiscardPolicy, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freePort, type PrivateNats, startPrivateNats } from "../scripts/lib/private-stack";
import { reachable, which } from "../scripts/lib/services";
import { eventually } from "../tests/client";
import { envelope, jetstreamManagerOf, jetstreamOf, publishEnvelope, uuidv7 } from ".";

let nats: PrivateNats | undefined;
beforeAll(async () => {
  nats = await startPrivateNats("publish-test");
});
afterAll(async () => {
  await nats?.stop();
});

test("many publishes at once: each stored once under its message id, a repeat acked and dropped", async () => {
  const jsm = await jetstreamManager(nats!.nc);
  const before = (await jsm.streams.info("ORDERS")).state.messages;
  const envs = Array.from({ length: 500 }, () => envelope("orders.cmd.timeout", { orderId: uuidv7() }));
  await Promise.all(envs.map((e) => publishEnvelope(nats!.js, e)));
  await Promise.all(envs.slice(0, 100).map((e) => publishEnvelope(nats!.js, e)));
  expect((await jsm.streams.info("ORDERS")).state.messages - before).toBe(500);
  const last = await jsm.streams.getMessage("ORDERS", { last_by_subj: "orders.cmd.timeout" });
  expect(last?.header.get("Nats-Msg-Id")).toBe(envs.at(-1)!.id);
});

test("a publish acked after its deadline is refused (stored, but it does not count)", async () => {
  const env = envelope("orders.cmd.timeout", { orderId: uuidv7() });
  nats!.proc.kill("SIGSTOP"); // the server stalls, as a stream electing its leader does
  const state = () => readFileSync(`/proc/${nats!.proc.pid}/stat`, "utf8").split(" ")[2];
  await eventually(async () => state() === "T" || undefined, 2_000, "the server stopped");
  const stalled = setTimeout(() => nats!.proc.kill("SIGCONT"), 600);
  try {
    await expect(publishEnvelope(nats!.js, env, undefined, Date.now() + 200)).rejects.toThrow(
      "acked past the publish's deadline",
    );
  } finally {
    clearTimeout(stalled);
    nats!.proc.kill("SIGCONT");
  }
  const jsm = await jetstreamManager(nats!.nc);
  const last = await jsm.streams.getMessage("ORDERS", { last_by_subj: "orders.cmd.timeout" });
  expect(last?.header.get("Nats-Msg-Id")).toBe(env.id);
  // in time, it counts
  await publishEnvelope(nats!.js, envelope("orders.cmd.timeout", { orderId: uuidv7() }), undefined, Date.now() + 5_000);
});

test("a subject no stream takes is refused, not left waiting", async () => {
  const env = { ...envelope("orders.cmd.timeout", { orderId: uuidv7() }), type: "nowhere.at.all" } as never;
  const started = performance.now();
  await expect(publishEnvelope(nats!.js, env)).rejects.toThrow("no stream takes this subject");
  expect(performance.now() - started).toBeLessThan(1_000);
});

test("a publish the stream refuses is refused with its reason", async () => {
  const jsm = await jetstreamManager(nats!.nc);
  await jsm.streams.add({ name: "TINY", subjects: ["tiny.>"], max_msgs: 1, discard: DiscardPolicy.New });
  await publishEnvelope(nats!.js, {
    ...envelope("orders.cmd.timeout", { orderId: uuidv7() }),
    type: "tiny.one",
  } as never);
  await expect(
    publishEnvelope(nats!.js, { ...envelope("orders.cmd.timeout", { orderId: uuidv7() }), type: "tiny.two" } as never),
  ).rejects.toThrow("JetStream refused the publish");
});

test("a closed connection refuses at once, and so does a publish that was waiting", async () => {
  const nc = await connect({ servers: nats!.url });
  const js = jetstreamOf(nc);
  await publishEnvelope(js, envelope("orders.cmd.timeout", { orderId: uuidv7() }));
  const waiting = publishEnvelope(js, envelope("orders.cmd.timeout", { orderId: uuidv7() })).then(
    () => "acked",
    (e: Error) => e.message,
  );
  await nc.close();
  expect(await waiting).toBeOneOf(["acked", "the NATS connection closed"]);
  const started = performance.now();
  await expect(publishEnvelope(js, envelope("orders.cmd.timeout", { orderId: uuidv7() }))).rejects.toThrow();
  expect(performance.now() - started).toBeLessThan(1_000);
});

test("a JetStream manager that could not be made is made again on the next call, once JetStream answers", async () => {
  // a server without JetStream first, then one with it on the same port (as a cluster node comes back)
  const port = freePort();
  const dir = mkdtempSync(join(tmpdir(), "jsm-test-"));
  const serve = (js: boolean) =>
    Bun.spawn(
      [
        which("nats-server", ["/usr/sbin/nats-server"])!,
        "-a",
        "127.0.0.1",
        "-p",
        String(port),
        ...(js ? ["-js", "-sd", dir] : []),
      ],
      {
        stdout: "ignore",
        stderr: "ignore",
      },
    );
  let server = serve(false);
  try {
    await eventually(() => reachable("127.0.0.1", port).then((up) => up || undefined), 5_000, "the server");
    const nc = await connect({ servers: `127.0.0.1:${port}`, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      await expect(jetstreamManagerOf(nc)).rejects.toThrow();
      server.kill();
      await server.exited;
      server = serve(true);
      const jsm = await eventually(() => jetstreamManagerOf(nc).catch(() => undefined), 10_000, "a manager");
      expect((await jsm.getAccountInfo()).streams).toBe(0);
    } finally {
      await nc.close();
    }
  } finally {
    server.kill();
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
