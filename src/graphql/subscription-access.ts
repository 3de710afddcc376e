// Subscriptions end when the access that opened them ends: shared by every subscription field.
import type { JobEvent } from '../events/bus';
import type { GraphQLContext } from './context';
import { viewerStillValid } from '../auth/viewer';

/**
 * Ends a subscription as soon as the viewer's access ends (member removed, API key revoked or
 * expired): the access is re-checked before each event is delivered, so it holds across API
 * processes whoever removed the access. The event that finds it gone is not delivered.
 */
export function whileAuthorized(ctx: GraphQLContext, source: AsyncIterableIterator<JobEvent>): AsyncIterableIterator<JobEvent> {
  const viewer = ctx.viewer!;
  const iterator: AsyncIterableIterator<JobEvent> = {
    [Symbol.asyncIterator]: () => iterator,
    next: async () => {
      const item = await source.next();
      if (item.done) return item;
      const valid = await viewerStillValid(ctx.app, viewer).catch((err: unknown) => {
        ctx.log.warn({ err }, 'could not re-check a subscriber; ending the subscription');
        return false;
      });
      if (valid) return item;
      ctx.log.info({ viewer: viewer.label }, 'access ended: closing the subscription');
      await source.return?.();
      return { value: undefined, done: true };
    },
    return: async () => {
      await source.return?.();
      return { value: undefined, done: true };
    },
  };
  return iterator;
}
