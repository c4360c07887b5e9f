// When a mail that could not be sent is tried again: exponential backoff from `baseMs`, capped at `maxMs`, with
// jitter (half fixed, half random) so mails that failed together do not come back together.
export function retryDelayMs(attempts: number, o: { baseMs: number; maxMs: number }, random = Math.random): number {
  const ceiling = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * Whether an SMTP failure is final: the server refused this mail for good (a 5xx reply to it). A connection that
 * failed, timed out or got a 4xx is tried again.
 */
export function isPermanent(err: unknown): boolean {
  const code = (err as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === "number" && code >= 500 && code < 600;
}
