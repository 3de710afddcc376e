// Unique-constraint violations are expected (two things with one name): they become a
// ConflictError naming what collided instead of an unexpected error.
import { ConflictError } from './errors';

export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'P2002';
}

export async function conflictOnDuplicate<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`${what} already exists`);
    throw err;
  }
}
