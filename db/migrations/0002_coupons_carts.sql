CREATE SCHEMA "cart";
--> statement-breakpoint
CREATE SCHEMA "coupon";
--> statement-breakpoint
CREATE TYPE "coupon"."discount_type" AS ENUM('amount', 'percent');--> statement-breakpoint
CREATE TYPE "coupon"."user_coupon_status" AS ENUM('AVAILABLE', 'USED');--> statement-breakpoint
CREATE TABLE "cart"."checkouts" (
	"order_id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"lines" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cart"."items" (
	"user_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"quantity" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "items_user_id_product_id_pk" PRIMARY KEY("user_id","product_id"),
	CONSTRAINT "cart_items_quantity_positive" CHECK ("cart"."items"."quantity" > 0)
);
--> statement-breakpoint
CREATE TABLE "coupon"."coupons" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"discount_type" "coupon"."discount_type" NOT NULL,
	"discount_value" integer NOT NULL,
	"quantity" integer NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "coupons_quantity_positive" CHECK ("coupon"."coupons"."quantity" > 0),
	CONSTRAINT "coupons_window" CHECK ("coupon"."coupons"."ends_at" > "coupon"."coupons"."starts_at"),
	CONSTRAINT "coupons_discount" CHECK ("coupon"."coupons"."discount_value" > 0 and ("coupon"."coupons"."discount_type" = 'amount' or "coupon"."coupons"."discount_value" <= 100))
);
--> statement-breakpoint
CREATE TABLE "coupon"."user_coupons" (
	"id" uuid PRIMARY KEY NOT NULL,
	"coupon_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"status" "coupon"."user_coupon_status" DEFAULT 'AVAILABLE' NOT NULL,
	"order_id" uuid,
	"claimed_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_coupons_user_coupon_key" UNIQUE("user_id","coupon_id")
);
--> statement-breakpoint
ALTER TABLE "coupon"."user_coupons" ADD CONSTRAINT "user_coupons_coupon_id_coupons_id_fk" FOREIGN KEY ("coupon_id") REFERENCES "coupon"."coupons"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "coupons_ends_idx" ON "coupon"."coupons" USING btree ("ends_at");--> statement-breakpoint
CREATE INDEX "user_coupons_coupon_idx" ON "coupon"."user_coupons" USING btree ("coupon_id");