/*
  Warnings:

  - You are about to drop the column `events` on the `NotificationChannel` table. All the data in the column will be lost.
  - You are about to drop the column `url` on the `NotificationChannel` table. All the data in the column will be lost.

*/
-- CreateEnum
CREATE TYPE "AlertKind" AS ENUM ('BACKUP_FAILED', 'MISSED_RUN', 'RPO_BREACHED', 'RESTORE_TEST_FAILED', 'DESTINATION_UNREACHABLE', 'DESTINATION_NEARLY_FULL', 'RETENTION_DELETION_STUCK', 'CONTROL_NON_COMPLIANT', 'AUDIT_CHAIN_BROKEN');

-- CreateEnum
CREATE TYPE "AlertSeverity" AS ENUM ('INFO', 'WARNING', 'CRITICAL');

-- CreateEnum
CREATE TYPE "AlertState" AS ENUM ('OPEN', 'ACKNOWLEDGED', 'RESOLVED');

-- CreateEnum
CREATE TYPE "StrategyScope" AS ENUM ('ALL', 'LIST', 'CRITICAL');

-- CreateEnum
CREATE TYPE "DeliveryStatus" AS ENUM ('PENDING', 'DELIVERED', 'FAILED', 'DEAD');

-- AlterEnum
ALTER TYPE "ChannelKind" ADD VALUE 'SLACK';

-- AlterTable
ALTER TABLE "NotificationChannel" DROP COLUMN "events",
DROP COLUMN "url",
ADD COLUMN     "dailyDigest" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "digestHour" INTEGER NOT NULL DEFAULT 8,
ADD COLUMN     "lastDigestOn" VARCHAR(10),
ADD COLUMN     "previousSecretExpiresAt" TIMESTAMP(3),
ADD COLUMN     "previousSecretSealed" BYTEA,
ADD COLUMN     "secretRotatedAt" TIMESTAMP(3),
ADD COLUMN     "urlHint" VARCHAR(300),
ADD COLUMN     "urlSealed" BYTEA;

-- AlterTable
ALTER TABLE "Strategy" ADD COLUMN     "critical" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "Alert" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "kind" "AlertKind" NOT NULL,
    "severity" "AlertSeverity" NOT NULL,
    "state" "AlertState" NOT NULL DEFAULT 'OPEN',
    "openKey" VARCHAR(200),
    "resourceType" VARCHAR(64) NOT NULL,
    "resourceId" UUID,
    "strategyId" UUID,
    "title" VARCHAR(300) NOT NULL,
    "message" TEXT NOT NULL,
    "details" JSONB,
    "count" INTEGER NOT NULL DEFAULT 1,
    "firstSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "acknowledgedAt" TIMESTAMP(3),
    "acknowledgedBy" VARCHAR(300),
    "resolvedAt" TIMESTAMP(3),
    "resolvedBy" VARCHAR(300),
    "escalationStep" INTEGER NOT NULL DEFAULT 0,
    "nextEscalationAt" TIMESTAMP(3),

    CONSTRAINT "Alert_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AlertRule" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "channelId" UUID NOT NULL,
    "kinds" "AlertKind"[],
    "minSeverity" "AlertSeverity" NOT NULL DEFAULT 'WARNING',
    "strategyScope" "StrategyScope" NOT NULL DEFAULT 'ALL',
    "strategyIds" UUID[],
    "notifyOnSuccess" BOOLEAN NOT NULL DEFAULT false,
    "notifyOnResolve" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AlertRule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "EmergencyContact" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "email" VARCHAR(254),
    "channelId" UUID,
    "afterMinutes" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "EmergencyContact_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Delivery" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "eventId" UUID NOT NULL,
    "eventType" VARCHAR(40) NOT NULL,
    "alertId" UUID,
    "channelId" UUID,
    "contactId" UUID,
    "recipient" VARCHAR(300) NOT NULL,
    "payload" JSONB NOT NULL,
    "status" "DeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastStatusCode" INTEGER,
    "lastError" TEXT,
    "deliveredAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Delivery_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeliveryAttempt" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "deliveryId" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "statusCode" INTEGER,
    "durationMs" INTEGER NOT NULL,
    "error" TEXT,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DeliveryAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Alert_orgId_lastSeenAt_idx" ON "Alert"("orgId", "lastSeenAt");

-- CreateIndex
CREATE INDEX "Alert_nextEscalationAt_idx" ON "Alert"("nextEscalationAt");

-- CreateIndex
CREATE UNIQUE INDEX "Alert_orgId_openKey_key" ON "Alert"("orgId", "openKey");

-- CreateIndex
CREATE INDEX "AlertRule_channelId_idx" ON "AlertRule"("channelId");

-- CreateIndex
CREATE INDEX "AlertRule_orgId_idx" ON "AlertRule"("orgId");

-- CreateIndex
CREATE INDEX "EmergencyContact_orgId_afterMinutes_idx" ON "EmergencyContact"("orgId", "afterMinutes");

-- CreateIndex
CREATE INDEX "EmergencyContact_channelId_idx" ON "EmergencyContact"("channelId");

-- CreateIndex
CREATE INDEX "Delivery_orgId_createdAt_idx" ON "Delivery"("orgId", "createdAt");

-- CreateIndex
CREATE INDEX "Delivery_alertId_idx" ON "Delivery"("alertId");

-- CreateIndex
CREATE INDEX "Delivery_channelId_idx" ON "Delivery"("channelId");

-- CreateIndex
CREATE INDEX "Delivery_contactId_idx" ON "Delivery"("contactId");

-- CreateIndex
CREATE UNIQUE INDEX "Delivery_eventId_channelId_key" ON "Delivery"("eventId", "channelId");

-- CreateIndex
CREATE UNIQUE INDEX "Delivery_eventId_contactId_key" ON "Delivery"("eventId", "contactId");

-- CreateIndex
CREATE INDEX "DeliveryAttempt_deliveryId_at_idx" ON "DeliveryAttempt"("deliveryId", "at");

-- CreateIndex
CREATE INDEX "DeliveryAttempt_orgId_idx" ON "DeliveryAttempt"("orgId");

-- AddForeignKey
ALTER TABLE "Alert" ADD CONSTRAINT "Alert_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Alert" ADD CONSTRAINT "Alert_strategyId_fkey" FOREIGN KEY ("strategyId") REFERENCES "Strategy"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AlertRule" ADD CONSTRAINT "AlertRule_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AlertRule" ADD CONSTRAINT "AlertRule_channelId_fkey" FOREIGN KEY ("channelId") REFERENCES "NotificationChannel"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EmergencyContact" ADD CONSTRAINT "EmergencyContact_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EmergencyContact" ADD CONSTRAINT "EmergencyContact_channelId_fkey" FOREIGN KEY ("channelId") REFERENCES "NotificationChannel"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Delivery" ADD CONSTRAINT "Delivery_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Delivery" ADD CONSTRAINT "Delivery_alertId_fkey" FOREIGN KEY ("alertId") REFERENCES "Alert"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Delivery" ADD CONSTRAINT "Delivery_channelId_fkey" FOREIGN KEY ("channelId") REFERENCES "NotificationChannel"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Delivery" ADD CONSTRAINT "Delivery_contactId_fkey" FOREIGN KEY ("contactId") REFERENCES "EmergencyContact"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeliveryAttempt" ADD CONSTRAINT "DeliveryAttempt_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeliveryAttempt" ADD CONSTRAINT "DeliveryAttempt_deliveryId_fkey" FOREIGN KEY ("deliveryId") REFERENCES "Delivery"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written: the new tenant tables get the same row-level security as the others (see
-- 20261122100000_rls_audit), and the tenant guards are reinstalled from the catalog so their
-- references (an alert's strategy, a rule's channel, a delivery's alert) stay inside one org.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['Alert', 'AlertRule', 'EmergencyContact', 'Delivery', 'DeliveryAttempt']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO keepsake_app USING ("orgId" = keepsake_current_org()) WITH CHECK ("orgId" = keepsake_current_org())', t);
    EXECUTE format('CREATE POLICY system_context ON %I TO keepsake_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END
$$;

SELECT keepsake_install_tenant_guards();
