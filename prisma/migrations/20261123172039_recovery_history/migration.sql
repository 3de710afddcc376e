/*
  Warnings:

  - A unique constraint covering the columns `[strategyId,scheduledFor]` on the table `Verification` will be added. If there are existing duplicate values, this will fail.

*/
-- DropForeignKey
ALTER TABLE "RecoveryJob" DROP CONSTRAINT "RecoveryJob_recoveryPointId_fkey";

-- DropForeignKey
ALTER TABLE "Verification" DROP CONSTRAINT "Verification_recoveryPointId_fkey";

-- AlterTable
ALTER TABLE "RecoveryJob" ALTER COLUMN "recoveryPointId" DROP NOT NULL;

-- AlterTable
ALTER TABLE "Strategy" ADD COLUMN     "verifyNextRunAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Verification" ADD COLUMN     "initiatedById" UUID,
ADD COLUMN     "queueJobId" VARCHAR(64),
ADD COLUMN     "scheduledFor" TIMESTAMP(3),
ALTER COLUMN "recoveryPointId" DROP NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "Verification_strategyId_scheduledFor_key" ON "Verification"("strategyId", "scheduledFor");

-- AddForeignKey
ALTER TABLE "RecoveryJob" ADD CONSTRAINT "RecoveryJob_recoveryPointId_fkey" FOREIGN KEY ("recoveryPointId") REFERENCES "RecoveryPoint"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Verification" ADD CONSTRAINT "Verification_recoveryPointId_fkey" FOREIGN KEY ("recoveryPointId") REFERENCES "RecoveryPoint"("id") ON DELETE SET NULL ON UPDATE CASCADE;
