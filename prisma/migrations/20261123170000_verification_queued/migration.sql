-- A new enum value must be committed before a later statement may use it (as a default), so it
-- gets a migration of its own.
ALTER TYPE "VerificationStatus" ADD VALUE 'QUEUED' BEFORE 'RUNNING';
