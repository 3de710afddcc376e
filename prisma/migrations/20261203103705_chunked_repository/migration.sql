-- CreateEnum
CREATE TYPE "RepositoryFormat" AS ENUM ('TAR', 'CHUNKED');

-- AlterTable
ALTER TABLE "Strategy" ADD COLUMN     "repositoryFormat" "RepositoryFormat" NOT NULL DEFAULT 'TAR';

-- CreateTable
CREATE TABLE "BackupFile" (
    "orgId" UUID NOT NULL,
    "recoveryPointId" UUID NOT NULL,
    "sourceId" UUID,
    "path" TEXT NOT NULL,
    "parent" TEXT NOT NULL,
    "type" VARCHAR(8) NOT NULL,
    "size" BIGINT NOT NULL,
    "mode" INTEGER NOT NULL,
    "mtime" TIMESTAMP(3) NOT NULL,
    "uid" INTEGER NOT NULL,
    "gid" INTEGER NOT NULL,
    "target" TEXT,
    "chunks" INTEGER NOT NULL,

    CONSTRAINT "BackupFile_pkey" PRIMARY KEY ("recoveryPointId","path")
);

-- CreateIndex
CREATE INDEX "BackupFile_recoveryPointId_parent_path_idx" ON "BackupFile"("recoveryPointId", "parent", "path");

-- CreateIndex
CREATE INDEX "BackupFile_orgId_sourceId_path_idx" ON "BackupFile"("orgId", "sourceId", "path");

-- AddForeignKey
ALTER TABLE "BackupFile" ADD CONSTRAINT "BackupFile_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BackupFile" ADD CONSTRAINT "BackupFile_recoveryPointId_fkey" FOREIGN KEY ("recoveryPointId") REFERENCES "RecoveryPoint"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The catalog is tenant data: the same row-level security as every tenant table, and the
-- same-org guards for its new references.
ALTER TABLE "BackupFile" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "BackupFile" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "BackupFile" TO keepsake_app USING ("orgId" = keepsake_current_org()) WITH CHECK ("orgId" = keepsake_current_org());
CREATE POLICY system_context ON "BackupFile" TO keepsake_system USING (true) WITH CHECK (true);
SELECT keepsake_install_tenant_guards();
