-- AlterTable
ALTER TABLE "Membership" ADD COLUMN     "displayName" VARCHAR(200);

-- Names given at invitation were stored on the global User row, where every organization the person
-- belongs to saw them. Keep each name for the organization that gave it (the person's first
-- membership) and clear the global copy. Row-level security is forced: act as the system role.
SELECT set_config('role', 'keepsake_system', true), set_config('app.system_reason', 'migration: membership display names', true);
UPDATE "Membership" m SET "displayName" = u."name"
FROM "User" u
WHERE u."id" = m."userId" AND u."name" IS NOT NULL
  AND m."id" = (SELECT m2."id" FROM "Membership" m2 WHERE m2."userId" = u."id" ORDER BY m2."createdAt", m2."id" LIMIT 1);
UPDATE "User" SET "name" = NULL WHERE "name" IS NOT NULL;
SELECT set_config('role', 'none', true);
