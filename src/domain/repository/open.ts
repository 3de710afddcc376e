// An organization's repository at each destination: keys from its data key, the Repository of
// backup/chunked on each destination's driver, under keepsake/<orgId>/repository/.
import { repositoryKeys, type RepositoryKeys } from '../../backup/chunked/keys';
import { Repository, repositoryPrefix } from '../../backup/chunked/repository';
import { orgPrefix } from '../../backup/manifest';
import type { Db } from '../../db/client';
import { driverFor, type DestinationEnv, type DestinationRow } from '../destinations/driver';
import { organizationDataKey } from '../organization/data-keys';

export interface RepositoryEnv extends DestinationEnv {
  db: Db;
}

export async function organizationRepositoryKeys(env: RepositoryEnv, orgId: string): Promise<RepositoryKeys> {
  return repositoryKeys(await organizationDataKey(env.db, env.masterKey, orgId));
}

export function openRepository(env: DestinationEnv, keys: RepositoryKeys, destination: DestinationRow): Repository {
  return new Repository(driverFor(destination, env), repositoryPrefix(orgPrefix(destination.orgId)), keys);
}
