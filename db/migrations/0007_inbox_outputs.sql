ALTER TABLE "messaging"."inbox" ADD COLUMN "outputs" jsonb;--> statement-breakpoint
CREATE INDEX "inbox_created_brin" ON "messaging"."inbox" USING brin ("created_at");