// The engine for a configured source. Takes the stored Source row as it is (a structural subset,
// so this layer needs no Prisma import) plus what only the worker knows: the decrypted connection
// URL and the deployment's tool directory, directory roots and scratch space.
import { SourceAccessError, SourceNotFoundError } from '../errors';
import { createDirectoryEngine } from './directory';
import { createPostgresEngine, type PgDumpFormat } from './postgres';
import type { BackupEngine } from './types';

export interface EngineSource {
  kind: 'POSTGRES' | 'DIRECTORY';
  dumpFormat: PgDumpFormat;
  includeSchemas: string[];
  excludeSchemas: string[];
  includeTables: string[];
  excludeTables: string[];
  noOwner: boolean;
  noAcl: boolean;
  path: string | null;
  includeGlobs: string[];
  excludeGlobs: string[];
}

export interface EngineEnv {
  /** The source's decrypted connection URL (POSTGRES). */
  connectionUrl?: string;
  pgBinDir?: string;
  /** Directories DIRECTORY sources must stay inside; undefined or empty means no restriction. */
  directoryRoots?: string[];
  /** Scratch space for pg_dump's directory format. */
  tempDir?: string;
}

export function engineFor(source: EngineSource, env: EngineEnv): BackupEngine {
  if (source.kind === 'DIRECTORY') {
    if (!source.path) throw new SourceNotFoundError('', 'the directory source has no path');
    return createDirectoryEngine({
      root: source.path,
      includeGlobs: source.includeGlobs,
      excludeGlobs: source.excludeGlobs,
      allowedRoots: env.directoryRoots,
    });
  }
  if (!env.connectionUrl) throw new SourceAccessError('the PostgreSQL source has no connection URL');
  return createPostgresEngine({
    connectionUrl: env.connectionUrl,
    pgBinDir: env.pgBinDir,
    format: source.dumpFormat,
    includeSchemas: source.includeSchemas,
    excludeSchemas: source.excludeSchemas,
    includeTables: source.includeTables,
    excludeTables: source.excludeTables,
    noOwner: source.noOwner,
    noAcl: source.noAcl,
    tempDir: env.tempDir,
  });
}
