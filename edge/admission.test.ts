import { describe, expect, test } from "bun:test";
import { admission } from "./admission";
import { AppError } from "./errors";

const job = (ms: number) => () => Bun.sleep(ms).then(() => "done");

describe("admission for expensive work", () => {
  test("a burst is served in line while its wait fits, the rest refused at once: BUSY with Retry-After", async () => {
    const line = admission({ concurrency: 2, maxWaitMs: 200, name: "test" });
    line.calibrate(20);
    const t = performance.now();
    const answers = await Promise.all(Array.from({ length: 100 }, () => line.run(job(20)).catch((e: AppError) => e)));
    const done = answers.filter((a) => a === "done").length;
    const refused = answers.filter((a): a is AppError => a instanceof AppError);
    expect(done + refused.length).toBe(100);
    expect(done).toBeGreaterThanOrEqual(10);
    expect(done).toBeLessThanOrEqual(20);
    for (const r of refused) {
      expect(r.code).toBe("BUSY");
      expect(Number(r.headers?.["Retry-After"])).toBeGreaterThanOrEqual(1);
    }
    expect(performance.now() - t).toBeLessThan(200 + 100);
    expect(line.stats()).toMatchObject({ running: 0, waiting: 0 });
  });

  test("when the average was too kind, a job that would end past its budget is refused as it leaves the line, never started", async () => {
    const line = admission({ concurrency: 1, maxWaitMs: 300, name: "test" });
    line.calibrate(5); // the jobs take 60 ms: the arrival estimate lets far too many in
    let started = 0;
    const t = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 40 }, () =>
        line
          .run(() => {
            started++;
            return Bun.sleep(60);
          })
          .then(
            () => performance.now() - t,
            (e: AppError) => e,
          ),
      ),
    );
    const finished = answers.filter((a): a is number => typeof a === "number");
    expect(answers.filter((a) => a instanceof AppError && a.code === "BUSY").length).toBe(40 - finished.length);
    expect(started).toBe(finished.length);
    // every admitted job ends within its budget and one run of a job
    for (const ms of finished) expect(ms).toBeLessThan(300 + 60 + 40);
    expect(finished.length).toBeGreaterThanOrEqual(3);
  });

  test("one stalled job does not refuse everyone after it: a free slot always takes the next job", async () => {
    const line = admission({ concurrency: 1, maxWaitMs: 100, name: "test" });
    await line.run(job(250)); // the average is now past the wait limit
    expect(await line.run(job(5))).toBe("done");
    expect(await line.run(job(5))).toBe("done");
  });

  test("never more jobs at once than the slots, even when one starts as another ends", async () => {
    // a newcomer arriving a few microtasks after a job ends must not run beside the one that job's slot went to
    for (let hops = 0; hops < 8; hops++) {
      const line = admission({ concurrency: 1, maxWaitMs: 10_000, name: "test" });
      line.calibrate(1);
      let now = 0;
      let most = 0;
      const tracked = (until: Promise<unknown>) => async () => {
        most = Math.max(most, ++now);
        await until;
        now--;
      };
      let end!: () => void;
      const first = line.run(tracked(new Promise<void>((r) => (end = r))));
      const second = line.run(tracked(Bun.sleep(5)));
      await Bun.sleep(1);
      end();
      const third = (async () => {
        for (let i = 0; i < hops; i++) await null;
        return line.run(tracked(Bun.sleep(5)));
      })();
      await Promise.all([first, second, third]);
      expect([hops, most]).toEqual([hops, 1]);
    }
  });

  test("work that may as well wait runs only when nothing else does", async () => {
    const line = admission({ concurrency: 1, maxWaitMs: 1000, name: "test" });
    const busy = line.run(job(30));
    expect(line.whenIdle(job(1))).toBe(false);
    await busy;
    expect(line.whenIdle(job(1))).toBe(true);
  });
});
