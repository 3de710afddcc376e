-- AlterTable
ALTER TABLE "RecoveryPoint" ADD COLUMN     "legalHoldMarkerStale" BOOLEAN NOT NULL DEFAULT false;
