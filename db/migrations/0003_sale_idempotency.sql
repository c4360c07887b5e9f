ALTER TABLE "ordering"."orders" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
ALTER TABLE "ordering"."orders" ADD COLUMN "request_hash" text;