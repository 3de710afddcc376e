// Which engine backs up a claimed source, with the secrets and limits of this deployment: the
// connection URL is opened only here, in the worker, and directory sources stay inside the
// configured roots.
import { PathEscapeError } from '../../backup/errors';
import type { BackupEngine } from '../../backup/engines/types';
import { engineFor } from '../../backup/engines/engine-for';
import type { AppServices } from '../../services';
import type { ClaimedBackup } from './claim';
import { openConnectionUrl } from '../sources/sources';

export function backupEngineFor(app: Pick<AppServices, 'masterKey' | 'config'>): (claimed: ClaimedBackup) => BackupEngine {
  const roots = app.config.directorySourceRoots;
  return ({ source }) => {
    if (source.kind === 'DIRECTORY' && roots && roots.length === 0) {
      throw new PathEscapeError(source.path ?? '', 'directory sources are disabled on this server: set DIRECTORY_SOURCE_ROOTS to the directories they may read');
    }
    return engineFor(source, {
      pgBinDir: app.config.pgBinDir,
      directoryRoots: roots,
      connectionUrl: source.kind === 'POSTGRES' ? openConnectionUrl(app.masterKey, source) : undefined,
    });
  };
}
