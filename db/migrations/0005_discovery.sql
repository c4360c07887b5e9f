CREATE TABLE "catalog"."likes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "likes_user_product_key" UNIQUE("user_id","product_id")
);
--> statement-breakpoint
ALTER TABLE "catalog"."products" ADD COLUMN "likes" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "catalog"."products" ADD COLUMN "words" "tsvector" GENERATED ALWAYS AS (to_tsvector('simple', name || ' ' || coalesce(description, ''))) STORED;--> statement-breakpoint
ALTER TABLE "catalog"."products" ADD COLUMN "searched" text GENERATED ALWAYS AS (lower(name || ' ' || coalesce(description, ''))) STORED;--> statement-breakpoint
CREATE INDEX "likes_user_idx" ON "catalog"."likes" USING btree ("user_id","id");--> statement-breakpoint
CREATE INDEX "likes_product_idx" ON "catalog"."likes" USING btree ("product_id","created_at");--> statement-breakpoint
CREATE INDEX "likes_created_idx" ON "catalog"."likes" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "order_history_status_at_idx" ON "ordering"."order_history" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "order_items_product_idx" ON "ordering"."order_items" USING btree ("product_id");--> statement-breakpoint
CREATE INDEX "products_price_idx" ON "catalog"."products" USING btree ("price","id") WHERE "catalog"."products"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "products_likes_idx" ON "catalog"."products" USING btree ("likes","id") WHERE "catalog"."products"."deleted_at" is null;--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE INDEX "products_search_words_idx" ON "catalog"."products" USING gin ("words") WHERE "deleted_at" is null;--> statement-breakpoint
CREATE INDEX "products_search_trgm_idx" ON "catalog"."products" USING gin ("searched" gin_trgm_ops) WHERE "deleted_at" is null;
