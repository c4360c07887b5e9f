ALTER TABLE "messaging"."inbox" ADD COLUMN "outputs" json;--> statement-breakpoint
CREATE INDEX "inbox_created_brin" ON "messaging"."inbox" USING brin ("created_at");