// The background loops (outbox relay, sweepers, reconciler): one pass every `everyMs` until stopped.

/**
 * Runs `pass` now and then `everyMs` after each pass ends; a failed pass goes to `failed` and the loop goes on.
 * The returned stop ends the pause at once and resolves when the pass under way has finished.
 */
export function repeat(
  everyMs: number,
  pass: () => Promise<unknown>,
  failed: (err: unknown) => void,
): () => Promise<void> {
  let stopped = false;
  let wake = () => {};
  const loop = (async () => {
    while (!stopped) {
      try {
        await pass();
      } catch (err) {
        failed(err);
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, everyMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  })();
  return async () => {
    stopped = true;
    wake();
    await loop;
  };
}
