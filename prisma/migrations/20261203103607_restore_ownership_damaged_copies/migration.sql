-- CreateEnum
CREATE TYPE "RestoreOwnership" AS ENUM ('AUTO', 'RESTORE', 'SKIP');

-- AlterEnum
ALTER TYPE "ArtifactStatus" ADD VALUE 'DAMAGED';

-- AlterTable
ALTER TABLE "RecoveryJob" ADD COLUMN     "ownership" "RestoreOwnership" NOT NULL DEFAULT 'AUTO';
