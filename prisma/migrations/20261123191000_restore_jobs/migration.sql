-- AlterTable
ALTER TABLE "RecoveryJob" ADD COLUMN     "jobs" INTEGER;
