// What this edge process counts for the ops tick (nats/ops-tick.ts): answers by status in the current second,
// and rate-limit decisions taken on the local fallback since it started.
export function opsStats() {
  let answers = new Map<number, number>();
  let degraded = 0;
  return {
    answer(status: number) {
      answers.set(status, (answers.get(status) ?? 0) + 1);
    },
    degrade() {
      degraded++;
    },
    /** This second's answers (then starts a new second) and the degraded total. */
    take() {
      const out = Object.fromEntries([...answers].map(([s, n]) => [String(s), n]));
      answers = new Map();
      return { answers: out, degraded };
    },
  };
}
export type OpsStats = ReturnType<typeof opsStats>;
