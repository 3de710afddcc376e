-- CreateEnum
CREATE TYPE "Role" AS ENUM ('OWNER', 'ADMIN', 'OPERATOR', 'AUDITOR', 'VIEWER');

-- CreateEnum
CREATE TYPE "OrgLockMode" AS ENUM ('NONE', 'GOVERNANCE', 'COMPLIANCE');

-- CreateEnum
CREATE TYPE "SourceKind" AS ENUM ('POSTGRES', 'DIRECTORY');

-- CreateEnum
CREATE TYPE "DumpFormat" AS ENUM ('CUSTOM', 'PLAIN', 'TAR', 'DIRECTORY');

-- CreateEnum
CREATE TYPE "DestinationKind" AS ENUM ('LOCAL', 'S3');

-- CreateEnum
CREATE TYPE "DestinationStatus" AS ENUM ('UNKNOWN', 'HEALTHY', 'UNHEALTHY');

-- CreateEnum
CREATE TYPE "Compression" AS ENUM ('ZSTD', 'GZIP', 'NONE');

-- CreateEnum
CREATE TYPE "StrategyStatus" AS ENUM ('ACTIVE', 'PAUSED');

-- CreateEnum
CREATE TYPE "JobTrigger" AS ENUM ('SCHEDULED', 'MANUAL', 'API', 'RETRY', 'VERIFICATION');

-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('QUEUED', 'RUNNING', 'VERIFYING', 'SUCCEEDED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "ArtifactStatus" AS ENUM ('PRESENT', 'DELETING', 'DELETED', 'FAILED');

-- CreateEnum
CREATE TYPE "RecoveryTargetKind" AS ENUM ('NEW_DATABASE', 'EXISTING_DATABASE', 'DIRECTORY');

-- CreateEnum
CREATE TYPE "VerificationStatus" AS ENUM ('RUNNING', 'PASSED', 'FAILED');

-- CreateEnum
CREATE TYPE "ComplianceStatus" AS ENUM ('PASS', 'WARN', 'FAIL');

-- CreateEnum
CREATE TYPE "ReportFormat" AS ENUM ('CSV', 'JSON', 'PDF');

-- CreateEnum
CREATE TYPE "ReportStatus" AS ENUM ('PENDING', 'READY', 'FAILED');

-- CreateEnum
CREATE TYPE "ActorType" AS ENUM ('USER', 'API_KEY', 'SYSTEM');

-- CreateEnum
CREATE TYPE "ChannelKind" AS ENUM ('WEBHOOK', 'EMAIL');

-- CreateTable
CREATE TABLE "Organization" (
    "id" UUID NOT NULL,
    "slug" VARCHAR(63) NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "timeZone" VARCHAR(64) NOT NULL DEFAULT 'UTC',
    "lockMode" "OrgLockMode" NOT NULL DEFAULT 'NONE',
    "lockGraceUntil" TIMESTAMP(3),
    "maxConcurrentBackups" INTEGER NOT NULL DEFAULT 2,
    "dataKeyWrapped" BYTEA,
    "dataKeyId" VARCHAR(64),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Organization_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "User" (
    "id" UUID NOT NULL,
    "email" VARCHAR(254) NOT NULL,
    "name" VARCHAR(200),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Membership" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "role" "Role" NOT NULL,
    "invitedById" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Membership_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "prefix" VARCHAR(32) NOT NULL,
    "secretHash" VARCHAR(64) NOT NULL,
    "role" "Role" NOT NULL,
    "createdById" UUID,
    "lastUsedAt" TIMESTAMP(3),
    "expiresAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Source" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "kind" "SourceKind" NOT NULL,
    "connectionUrlSealed" BYTEA,
    "connectionHint" VARCHAR(300),
    "includeSchemas" TEXT[],
    "excludeSchemas" TEXT[],
    "includeTables" TEXT[],
    "excludeTables" TEXT[],
    "dumpFormat" "DumpFormat" NOT NULL DEFAULT 'CUSTOM',
    "noOwner" BOOLEAN NOT NULL DEFAULT true,
    "noAcl" BOOLEAN NOT NULL DEFAULT false,
    "probeQueries" TEXT[],
    "path" VARCHAR(1024),
    "includeGlobs" TEXT[],
    "excludeGlobs" TEXT[],
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Source_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Destination" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "kind" "DestinationKind" NOT NULL,
    "path" VARCHAR(1024),
    "endpoint" VARCHAR(500),
    "region" VARCHAR(64),
    "bucket" VARCHAR(63),
    "prefix" VARCHAR(500),
    "forcePathStyle" BOOLEAN NOT NULL DEFAULT true,
    "accessKeyIdSealed" BYTEA,
    "secretAccessKeySealed" BYTEA,
    "status" "DestinationStatus" NOT NULL DEFAULT 'UNKNOWN',
    "lastTestedAt" TIMESTAMP(3),
    "lastError" TEXT,
    "usedBytes" BIGINT NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Destination_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RetentionPolicy" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "keepLast" INTEGER,
    "keepHourly" INTEGER,
    "keepDaily" INTEGER,
    "keepWeekly" INTEGER,
    "keepMonthly" INTEGER,
    "keepYearly" INTEGER,
    "maxAgeDays" INTEGER,
    "minCopies" INTEGER NOT NULL DEFAULT 1,
    "peakSeasonStart" VARCHAR(5),
    "peakSeasonEnd" VARCHAR(5),
    "peakKeepDaily" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RetentionPolicy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Strategy" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "sourceId" UUID NOT NULL,
    "retentionPolicyId" UUID,
    "cron" VARCHAR(120) NOT NULL,
    "timeZone" VARCHAR(64) NOT NULL DEFAULT 'UTC',
    "startWindowMinutes" INTEGER NOT NULL DEFAULT 60,
    "peakCron" VARCHAR(120),
    "peakStart" VARCHAR(5),
    "peakEnd" VARCHAR(5),
    "compression" "Compression" NOT NULL DEFAULT 'ZSTD',
    "compressionLevel" INTEGER,
    "encrypted" BOOLEAN NOT NULL DEFAULT true,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "rpoMinutes" INTEGER,
    "maxSizeBytes" BIGINT,
    "timeoutSeconds" INTEGER,
    "verifyCron" VARCHAR(120),
    "status" "StrategyStatus" NOT NULL DEFAULT 'ACTIVE',
    "nextRunAt" TIMESTAMP(3),
    "lastRunAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Strategy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StrategyDestination" (
    "strategyId" UUID NOT NULL,
    "destinationId" UUID NOT NULL,
    "orgId" UUID NOT NULL,

    CONSTRAINT "StrategyDestination_pkey" PRIMARY KEY ("strategyId","destinationId")
);

-- CreateTable
CREATE TABLE "BackupJob" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "strategyId" UUID NOT NULL,
    "trigger" "JobTrigger" NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'QUEUED',
    "phase" VARCHAR(32),
    "bytesDone" BIGINT NOT NULL DEFAULT 0,
    "bytesTotal" BIGINT,
    "percent" DOUBLE PRECISION,
    "etaSeconds" INTEGER,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "errorCode" VARCHAR(64),
    "scheduledFor" TIMESTAMP(3),
    "initiatedById" UUID,
    "initiatedByApiKey" UUID,
    "queueJobId" VARCHAR(64),
    "cancelRequestedAt" TIMESTAMP(3),
    "workerId" VARCHAR(128),
    "queuedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "BackupJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MissedRun" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "strategyId" UUID NOT NULL,
    "slotAt" TIMESTAMP(3) NOT NULL,
    "reason" TEXT NOT NULL,
    "detectedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MissedRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RecoveryPoint" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "strategyId" UUID,
    "sourceId" UUID,
    "backupJobId" UUID,
    "sourceKind" "SourceKind" NOT NULL,
    "format" VARCHAR(32) NOT NULL,
    "compression" "Compression" NOT NULL,
    "encrypted" BOOLEAN NOT NULL,
    "keyId" VARCHAR(64),
    "rawBytes" BIGINT NOT NULL,
    "storedBytes" BIGINT NOT NULL,
    "sha256" VARCHAR(64) NOT NULL,
    "manifest" JSONB NOT NULL,
    "takenAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3),
    "legalHold" BOOLEAN NOT NULL DEFAULT false,
    "legalHoldReason" TEXT,
    "verifiedAt" TIMESTAMP(3),
    "deletingSince" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RecoveryPoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Artifact" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "recoveryPointId" UUID NOT NULL,
    "destinationId" UUID NOT NULL,
    "key" VARCHAR(1024) NOT NULL,
    "manifestKey" VARCHAR(1024) NOT NULL,
    "sizeBytes" BIGINT NOT NULL,
    "sha256" VARCHAR(64) NOT NULL,
    "status" "ArtifactStatus" NOT NULL DEFAULT 'PRESENT',
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deletedAt" TIMESTAMP(3),

    CONSTRAINT "Artifact_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RecoveryJob" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "recoveryPointId" UUID NOT NULL,
    "targetKind" "RecoveryTargetKind" NOT NULL,
    "targetUrlSealed" BYTEA,
    "targetDatabase" VARCHAR(63),
    "targetPath" VARCHAR(1024),
    "selection" JSONB,
    "confirmOverwrite" BOOLEAN NOT NULL DEFAULT false,
    "status" "JobStatus" NOT NULL DEFAULT 'QUEUED',
    "phase" VARCHAR(32),
    "bytesDone" BIGINT NOT NULL DEFAULT 0,
    "bytesTotal" BIGINT,
    "percent" DOUBLE PRECISION,
    "etaSeconds" INTEGER,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "errorCode" VARCHAR(64),
    "validation" JSONB,
    "initiatedById" UUID,
    "initiatedByApiKey" UUID,
    "queueJobId" VARCHAR(64),
    "cancelRequestedAt" TIMESTAMP(3),
    "queuedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RecoveryJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Verification" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "recoveryPointId" UUID NOT NULL,
    "strategyId" UUID,
    "status" "VerificationStatus" NOT NULL DEFAULT 'RUNNING',
    "evidence" JSONB,
    "durationMs" INTEGER,
    "error" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Verification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ComplianceLog" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "control" VARCHAR(64) NOT NULL,
    "status" "ComplianceStatus" NOT NULL,
    "resourceType" VARCHAR(64),
    "resourceId" UUID,
    "details" JSONB,
    "evaluatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ComplianceLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ComplianceReport" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "format" "ReportFormat" NOT NULL,
    "status" "ReportStatus" NOT NULL DEFAULT 'PENDING',
    "periodStart" TIMESTAMP(3) NOT NULL,
    "periodEnd" TIMESTAMP(3) NOT NULL,
    "content" BYTEA,
    "sha256" VARCHAR(64),
    "error" TEXT,
    "createdById" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "ComplianceReport_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "seq" INTEGER NOT NULL DEFAULT 0,
    "actorType" "ActorType" NOT NULL,
    "actorId" UUID,
    "actorLabel" VARCHAR(300),
    "action" VARCHAR(64) NOT NULL,
    "resourceType" VARCHAR(64) NOT NULL,
    "resourceId" UUID,
    "before" JSONB,
    "after" JSONB,
    "requestId" VARCHAR(128),
    "ip" VARCHAR(64),
    "userAgent" VARCHAR(512),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "prevHash" VARCHAR(64) NOT NULL DEFAULT '',
    "hash" VARCHAR(64) NOT NULL DEFAULT '',

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationChannel" (
    "id" UUID NOT NULL,
    "orgId" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "kind" "ChannelKind" NOT NULL,
    "url" VARCHAR(2000),
    "secretSealed" BYTEA,
    "emailTo" TEXT[],
    "events" TEXT[],
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "NotificationChannel_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Organization_slug_key" ON "Organization"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE INDEX "Membership_userId_idx" ON "Membership"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "Membership_orgId_userId_key" ON "Membership"("orgId", "userId");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_prefix_key" ON "ApiKey"("prefix");

-- CreateIndex
CREATE INDEX "ApiKey_orgId_createdAt_idx" ON "ApiKey"("orgId", "createdAt");

-- CreateIndex
CREATE INDEX "Source_orgId_createdAt_idx" ON "Source"("orgId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Source_orgId_name_key" ON "Source"("orgId", "name");

-- CreateIndex
CREATE INDEX "Destination_orgId_createdAt_idx" ON "Destination"("orgId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Destination_orgId_name_key" ON "Destination"("orgId", "name");

-- CreateIndex
CREATE INDEX "RetentionPolicy_orgId_createdAt_idx" ON "RetentionPolicy"("orgId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "RetentionPolicy_orgId_name_key" ON "RetentionPolicy"("orgId", "name");

-- CreateIndex
CREATE INDEX "Strategy_orgId_createdAt_idx" ON "Strategy"("orgId", "createdAt");

-- CreateIndex
CREATE INDEX "Strategy_status_nextRunAt_idx" ON "Strategy"("status", "nextRunAt");

-- CreateIndex
CREATE UNIQUE INDEX "Strategy_orgId_name_key" ON "Strategy"("orgId", "name");

-- CreateIndex
CREATE INDEX "StrategyDestination_destinationId_idx" ON "StrategyDestination"("destinationId");

-- CreateIndex
CREATE INDEX "StrategyDestination_orgId_idx" ON "StrategyDestination"("orgId");

-- CreateIndex
CREATE INDEX "BackupJob_orgId_queuedAt_idx" ON "BackupJob"("orgId", "queuedAt");

-- CreateIndex
CREATE INDEX "BackupJob_strategyId_queuedAt_idx" ON "BackupJob"("strategyId", "queuedAt");

-- CreateIndex
CREATE INDEX "BackupJob_status_idx" ON "BackupJob"("status");

-- CreateIndex
CREATE UNIQUE INDEX "BackupJob_strategyId_scheduledFor_key" ON "BackupJob"("strategyId", "scheduledFor");

-- CreateIndex
CREATE INDEX "MissedRun_orgId_slotAt_idx" ON "MissedRun"("orgId", "slotAt");

-- CreateIndex
CREATE UNIQUE INDEX "MissedRun_strategyId_slotAt_key" ON "MissedRun"("strategyId", "slotAt");

-- CreateIndex
CREATE UNIQUE INDEX "RecoveryPoint_backupJobId_key" ON "RecoveryPoint"("backupJobId");

-- CreateIndex
CREATE INDEX "RecoveryPoint_orgId_takenAt_idx" ON "RecoveryPoint"("orgId", "takenAt");

-- CreateIndex
CREATE INDEX "RecoveryPoint_strategyId_takenAt_idx" ON "RecoveryPoint"("strategyId", "takenAt");

-- CreateIndex
CREATE INDEX "Artifact_destinationId_idx" ON "Artifact"("destinationId");

-- CreateIndex
CREATE INDEX "Artifact_orgId_idx" ON "Artifact"("orgId");

-- CreateIndex
CREATE UNIQUE INDEX "Artifact_recoveryPointId_destinationId_key" ON "Artifact"("recoveryPointId", "destinationId");

-- CreateIndex
CREATE INDEX "RecoveryJob_orgId_queuedAt_idx" ON "RecoveryJob"("orgId", "queuedAt");

-- CreateIndex
CREATE INDEX "RecoveryJob_recoveryPointId_idx" ON "RecoveryJob"("recoveryPointId");

-- CreateIndex
CREATE INDEX "Verification_orgId_startedAt_idx" ON "Verification"("orgId", "startedAt");

-- CreateIndex
CREATE INDEX "Verification_recoveryPointId_idx" ON "Verification"("recoveryPointId");

-- CreateIndex
CREATE INDEX "ComplianceLog_orgId_evaluatedAt_idx" ON "ComplianceLog"("orgId", "evaluatedAt");

-- CreateIndex
CREATE INDEX "ComplianceReport_orgId_createdAt_idx" ON "ComplianceReport"("orgId", "createdAt");

-- CreateIndex
CREATE INDEX "AuditEvent_orgId_createdAt_idx" ON "AuditEvent"("orgId", "createdAt");

-- CreateIndex
CREATE INDEX "AuditEvent_orgId_action_idx" ON "AuditEvent"("orgId", "action");

-- CreateIndex
CREATE INDEX "AuditEvent_orgId_resourceType_resourceId_idx" ON "AuditEvent"("orgId", "resourceType", "resourceId");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_orgId_seq_key" ON "AuditEvent"("orgId", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "NotificationChannel_orgId_name_key" ON "NotificationChannel"("orgId", "name");

-- AddForeignKey
ALTER TABLE "Membership" ADD CONSTRAINT "Membership_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Membership" ADD CONSTRAINT "Membership_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Source" ADD CONSTRAINT "Source_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Destination" ADD CONSTRAINT "Destination_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RetentionPolicy" ADD CONSTRAINT "RetentionPolicy_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Strategy" ADD CONSTRAINT "Strategy_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Strategy" ADD CONSTRAINT "Strategy_sourceId_fkey" FOREIGN KEY ("sourceId") REFERENCES "Source"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Strategy" ADD CONSTRAINT "Strategy_retentionPolicyId_fkey" FOREIGN KEY ("retentionPolicyId") REFERENCES "RetentionPolicy"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StrategyDestination" ADD CONSTRAINT "StrategyDestination_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StrategyDestination" ADD CONSTRAINT "StrategyDestination_strategyId_fkey" FOREIGN KEY ("strategyId") REFERENCES "Strategy"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StrategyDestination" ADD CONSTRAINT "StrategyDestination_destinationId_fkey" FOREIGN KEY ("destinationId") REFERENCES "Destination"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BackupJob" ADD CONSTRAINT "BackupJob_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BackupJob" ADD CONSTRAINT "BackupJob_strategyId_fkey" FOREIGN KEY ("strategyId") REFERENCES "Strategy"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MissedRun" ADD CONSTRAINT "MissedRun_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MissedRun" ADD CONSTRAINT "MissedRun_strategyId_fkey" FOREIGN KEY ("strategyId") REFERENCES "Strategy"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RecoveryPoint" ADD CONSTRAINT "RecoveryPoint_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RecoveryPoint" ADD CONSTRAINT "RecoveryPoint_strategyId_fkey" FOREIGN KEY ("strategyId") REFERENCES "Strategy"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RecoveryPoint" ADD CONSTRAINT "RecoveryPoint_sourceId_fkey" FOREIGN KEY ("sourceId") REFERENCES "Source"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RecoveryPoint" ADD CONSTRAINT "RecoveryPoint_backupJobId_fkey" FOREIGN KEY ("backupJobId") REFERENCES "BackupJob"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Artifact" ADD CONSTRAINT "Artifact_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Artifact" ADD CONSTRAINT "Artifact_recoveryPointId_fkey" FOREIGN KEY ("recoveryPointId") REFERENCES "RecoveryPoint"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Artifact" ADD CONSTRAINT "Artifact_destinationId_fkey" FOREIGN KEY ("destinationId") REFERENCES "Destination"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RecoveryJob" ADD CONSTRAINT "RecoveryJob_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RecoveryJob" ADD CONSTRAINT "RecoveryJob_recoveryPointId_fkey" FOREIGN KEY ("recoveryPointId") REFERENCES "RecoveryPoint"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Verification" ADD CONSTRAINT "Verification_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Verification" ADD CONSTRAINT "Verification_recoveryPointId_fkey" FOREIGN KEY ("recoveryPointId") REFERENCES "RecoveryPoint"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Verification" ADD CONSTRAINT "Verification_strategyId_fkey" FOREIGN KEY ("strategyId") REFERENCES "Strategy"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ComplianceLog" ADD CONSTRAINT "ComplianceLog_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ComplianceReport" ADD CONSTRAINT "ComplianceReport_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AuditEvent" ADD CONSTRAINT "AuditEvent_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NotificationChannel" ADD CONSTRAINT "NotificationChannel_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
