// The payment gateway's webhook: signature checked in constant time, then the payment re-read from the
// gateway, whose answer (not the webhook's body) is what counts.
import { Hono } from "hono";
import { z } from "zod";
import { CircuitOpen, GatewayError, type GatewayPayment, verifyWebhook } from "../../domain/payment";
import { publish } from "../../nats";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { openapi } from "../openapi";
import { parse, requireJson, text } from "../validate";

const notification = z.object({ id: text().min(1).max(200), orderId: z.string().uuid(), status: text().max(20) });

export function webhookRoutes(d: Deps) {
  const app = new Hono<Env>();
  app.post(
    "/v1/payments/webhook",
    openapi({
      summary: "Payment gateway notification",
      description:
        'Signed by the gateway: `X-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">`, checked in constant time, refused outside 5 minutes. The payment is then re-read from the gateway (behind a circuit breaker) and only that answer counts.',
      tags: ["payments"],
      body: notification,
      // the signature covers the raw body: the handler parses it after the check
      rawBody: true,
      rateLimited: false,
      headers: { "X-Signature": { description: "t=<unix seconds>,v1=<hex HMAC-SHA256>", required: true } },
      responses: { 200: z.object({ received: z.literal(true), status: z.enum(["pending", "approved", "declined"]) }) },
      errors: ["BAD_SIGNATURE", "UNSUPPORTED_MEDIA_TYPE", "NOT_FOUND", "VALIDATION_FAILED", "UPSTREAM_UNAVAILABLE"],
    }),
    async (c) => {
      requireJson(c);
      const raw = await c.req.text();
      if (!verifyWebhook(d.config.WEBHOOK_SECRET, raw, c.req.header("x-signature")))
        throw new AppError("BAD_SIGNATURE", "the webhook signature does not match");
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw new AppError("MALFORMED_JSON");
      }
      const note = parse(notification, json);
      let payment: GatewayPayment;
      try {
        payment = await d.gateway.get(note.id);
      } catch (err) {
        if (err instanceof CircuitOpen)
          throw new AppError("UPSTREAM_UNAVAILABLE", "the payment gateway is unavailable");
        if (err instanceof GatewayError && err.status === 404)
          throw new AppError("NOT_FOUND", "the payment gateway knows no such payment");
        c.get("log").warn("gateway re-read failed", { err, paymentId: note.id });
        throw new AppError("UPSTREAM_UNAVAILABLE", "could not confirm the payment with the gateway");
      }
      if (payment.orderId !== note.orderId) throw new AppError("VALIDATION_FAILED", "payment and order do not match");
      if (payment.status === "pending") return c.json({ received: true, status: payment.status });
      await publish(
        d.bus.js,
        "payments.cmd.settle",
        { orderId: payment.orderId, gatewayPaymentId: payment.id, approved: payment.status === "approved" },
        { id: `settle:${payment.id}`, traceparent: c.get("traceparent") },
      );
      return c.json({ received: true, status: payment.status });
    },
  );
  return app;
}
