// Which engine backs up a claimed source, with the secrets and limits of this deployment: the
// connection URL is opened only here, in the worker, and directory sources stay inside the
// configured roots.
import { PathEscapeError, SourceNotFoundError } from '../../backup/errors';
import type { DirectoryEngineOptions } from '../../backup/engines/directory';
import type { BackupEngine } from '../../backup/engines/types';
import { engineFor } from '../../backup/engines/engine-for';
import type { AppServices } from '../../services';
import type { ClaimedBackup } from './claim';
import { openConnectionUrl } from '../sources/sources';

function checkDirectoriesEnabled(roots: string[] | undefined, path: string | null): void {
  if (roots && roots.length === 0) {
    throw new PathEscapeError(path ?? '', 'directory sources are disabled on this server: set DIRECTORY_SOURCE_ROOTS to the directories they may read');
  }
}

export function backupEngineFor(app: Pick<AppServices, 'masterKey' | 'config'>): (claimed: ClaimedBackup) => BackupEngine {
  const roots = app.config.directorySourceRoots;
  return ({ source }) => {
    if (source.kind === 'DIRECTORY') checkDirectoriesEnabled(roots, source.path);
    return engineFor(source, {
      pgBinDir: app.config.pgBinDir,
      directoryRoots: roots,
      connectionUrl: source.kind === 'POSTGRES' ? openConnectionUrl(app.masterKey, source) : undefined,
    });
  };
}

/** What a chunked backup of a DIRECTORY source walks, under the same confinement as the tar engine. */
export function directoryOptionsFor(app: Pick<AppServices, 'config'>): (claimed: ClaimedBackup) => DirectoryEngineOptions {
  const roots = app.config.directorySourceRoots;
  return ({ source }) => {
    checkDirectoriesEnabled(roots, source.path);
    if (!source.path) throw new SourceNotFoundError('', 'the directory source has no path');
    return { root: source.path, includeGlobs: source.includeGlobs, excludeGlobs: source.excludeGlobs, allowedRoots: roots };
  };
}
