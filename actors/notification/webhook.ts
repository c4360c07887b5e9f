// Posting to a Slack-compatible webhook: through a circuit breaker with a per-call timeout, retried with
// exponential backoff and jitter. Any answer but 2xx counts as a failure.
import type { Breaker } from "../../domain/payment";

export class WebhookRefused extends Error {
  constructor(readonly status: number) {
    super(`notify webhook answered ${status}`);
  }
}

/** Posts `body` as JSON until it is taken; returns the number of attempts it took, or throws the last error. */
export async function postWithRetries(
  url: string,
  body: unknown,
  o: { attempts: number; backoffMs: number; breaker: Breaker },
): Promise<number> {
  let last: unknown;
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    if (attempt > 1) await Bun.sleep(Math.round(o.backoffMs * 2 ** (attempt - 2) * (0.5 + Math.random())));
    try {
      await o.breaker.call(async (signal) => {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal,
        });
        await res.arrayBuffer();
        if (!res.ok) throw new WebhookRefused(res.status);
      });
      return attempt;
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
