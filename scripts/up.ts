// `bun run up`: the whole local stack in the foreground. Ctrl-C (or SIGTERM) stops it cleanly.
import { join } from "node:path";
import { edgeSpecs } from "./lib/edges";
import { stopOnExit } from "./lib/supervise";
import { demo } from "./seed";
import { defaults } from "./setup";
import { actorKinds, startStack } from "./stack";

const root = join(import.meta.dir, "..");
const env: Record<string, string | undefined> = { ...defaults, ...process.env };
env.GATEWAY_WEBHOOK_URL ??= `http://127.0.0.1:${env.PORT}/v1/payments/webhook`;
// mailed links and passkeys point at this edge unless said otherwise
env.PUBLIC_URL ??= `http://localhost:${env.PORT}`;
env.RP_ORIGIN ??= `http://localhost:${env.PORT}`;
// each edge process serves its metrics on its own internal port: METRICS_PORT, METRICS_PORT + 1, ...
env.METRICS_PORT ??= "9464";
const admin = { email: env.ADMIN_EMAIL!, password: env.ADMIN_PASSWORD! };

try {
  const mailDev = { smtpPort: Number(env.MAILDEV_SMTP_PORT ?? 1025), webPort: Number(env.MAILDEV_WEB_PORT ?? 1080) };
  const stack = await startStack({ root, env, dataDir: join(root, ".data"), admin, mailDev });
  const edges = edgeSpecs(env);
  console.log(`
  flashsale is up
    edge      ${stack.edgeUrl}   (health /healthz, ready /readyz), ${edges.length} process(es) on one port
    metrics   ${edges.map((e) => `http://${env.METRICS_HOST ?? "127.0.0.1"}:${e.env!.METRICS_PORT}/metrics`).join("  ")}
    actors    ${actorKinds.join(", ")} + payment-gateway simulator
    postgres  ${env.DATABASE_URL}
    redis     ${env.REDIS_URL}
    nats      ${env.NATS_URL}
  flash sale  ${stack.edgeUrl}/v1/sales/${stack.demoSaleId}  (buy: POST .../purchase as the shopper)
  pages       ${stack.edgeUrl}/shop/sales/${stack.demoSaleId}  (the sale page)   ${stack.edgeUrl}/ops  (the ops console, as the admin)
  demo accounts
    admin     ${admin.email} / ${admin.password}
    seller    ${demo.seller.email} / ${demo.seller.password}
    shopper   ${demo.shopper.email} / ${demo.shopper.password}
  demo mail   ${stack.mailWebUrl ? `${stack.mailWebUrl}  (MailDev: every mail the stack sends, e.g. signup verification links)` : `sent through ${env.MAIL_URL}`}
  passkeys    ${env.RP_ORIGIN}/passkeys  (log in, register a passkey, log in with it)
  Ctrl-C stops everything.
`);
  stopOnExit(() => stack.stop());
} catch (err) {
  console.error(`could not start the stack: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
