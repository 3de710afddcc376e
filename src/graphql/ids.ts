// Global ids are decoded inside resolvers (not by argument mapping) so a malformed id becomes
// a typed ValidationError and an id of another type a NotFoundError, like any foreign id.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { NotFoundError, ValidationError } from '../domain/errors';
import { isUuid } from '../db/uuid';

export function decodeId(globalId: string, typename: string, path: string[] = ['id']): string {
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(globalId);
  } catch {
    throw ValidationError.field(path, 'is not a valid id');
  }
  if (!decoded.typename || !isUuid(decoded.id)) throw ValidationError.field(path, 'is not a valid id');
  if (decoded.typename !== typename) throw new NotFoundError(typename);
  return decoded.id;
}

export function decodeIds(globalIds: readonly string[], typename: string, path: string[]): string[] {
  return globalIds.map((g, i) => decodeId(g, typename, [...path, String(i)]));
}
