// The webhook secret's development default, and the rule for it shared by every process that signs or checks
// webhooks (edge, payment actor, simulator): it is in this repository, so anyone can sign with it.
import type { z } from "zod";

export const DEV_WEBHOOK_SECRET = "dev-webhook-secret-change-me";

type Env = { NODE_ENV: string; WEBHOOK_SECRET: string };

/** A zod refinement of a process's configuration: the public default is refused when NODE_ENV=production. */
export function refuseDevSecretInProduction(c: Env, ctx: z.RefinementCtx) {
  if (c.NODE_ENV === "production" && c.WEBHOOK_SECRET === DEV_WEBHOOK_SECRET)
    ctx.addIssue({
      code: "custom",
      path: ["WEBHOOK_SECRET"],
      message: "is the public development default: set a secret of your own (NODE_ENV=production)",
    });
}

export function devSecretWarnings(c: Env): string[] {
  return c.WEBHOOK_SECRET === DEV_WEBHOOK_SECRET
    ? [
        "WEBHOOK_SECRET is the public development default: anyone can sign payment webhooks; set a secret of your own (refused when NODE_ENV=production)",
      ]
    : [];
}
