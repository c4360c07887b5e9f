CREATE SCHEMA "sale";
--> statement-breakpoint
CREATE TABLE "ordering"."abandoned_orders" (
	"order_id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inventory"."sale_stock" (
	"sale_id" uuid PRIMARY KEY NOT NULL,
	"available" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sale_stock_available_nonnegative" CHECK ("inventory"."sale_stock"."available" >= 0)
);
--> statement-breakpoint
CREATE TABLE "sale"."sales" (
	"id" uuid PRIMARY KEY NOT NULL,
	"product_id" uuid NOT NULL,
	"seller_id" uuid NOT NULL,
	"price" integer NOT NULL,
	"quantity" integer NOT NULL,
	"per_user_limit" integer DEFAULT 1 NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ordering"."orders" ADD COLUMN "sale_id" uuid;--> statement-breakpoint
ALTER TABLE "inventory"."reservations" ADD COLUMN "sale_id" uuid;--> statement-breakpoint
CREATE INDEX "sales_product_idx" ON "sale"."sales" USING btree ("product_id");--> statement-breakpoint
CREATE INDEX "orders_sale_idx" ON "ordering"."orders" USING btree ("sale_id");