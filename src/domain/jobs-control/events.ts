// Telling every API process that a job changed: the one way a backup, restore or restore test
// publishes its status and progress (NOTIFY through the given client, so an event published
// inside a transaction goes out only if it commits).
import { EventBus, type JobEvent } from '../../events/bus';

export interface RawExecutor {
  $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number>;
}

export function publishJobEvent(db: RawExecutor, event: Omit<JobEvent, 'at'>): Promise<void> {
  return EventBus.publish((sql, p) => db.$executeRawUnsafe(sql, ...p), event);
}
