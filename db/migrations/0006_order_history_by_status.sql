DROP INDEX "ordering"."order_history_order_idx";--> statement-breakpoint
CREATE INDEX "order_history_order_idx" ON "ordering"."order_history" USING btree ("order_id","status");