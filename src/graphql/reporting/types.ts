// Storage usage read model: bytes per destination and per strategy, growth per day, and savings.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { StorageUsage } from '../../domain/reporting/storage-usage';
import { builder } from '../builder';

type Dest = StorageUsage['byDestination'][number];
type Strat = StorageUsage['byStrategy'][number];
type Day = StorageUsage['daily'][number];

const DestinationUsageRef = builder.objectRef<Dest>('DestinationUsage').implement({
  fields: (t) => ({
    destinationId: t.id({ resolve: (d) => encodeGlobalID('Destination', d.destinationId) }),
    name: t.exposeString('name'),
    kind: t.exposeString('kind'),
    storedBytes: t.expose('storedBytes', { type: 'BigInt', description: 'Bytes of the copies held at this destination' }),
    copies: t.exposeInt('copies'),
  }),
});

const StrategyUsageRef = builder.objectRef<Strat>('StrategyUsage').implement({
  fields: (t) => ({
    strategyId: t.id({ resolve: (s) => encodeGlobalID('Strategy', s.strategyId) }),
    name: t.exposeString('name'),
    storedBytes: t.expose('storedBytes', { type: 'BigInt', description: 'Bytes of all copies of its recovery points, at every destination' }),
    rawBytes: t.expose('rawBytes', { type: 'BigInt', description: 'Bytes of its recovery points before compression and encryption' }),
    points: t.exposeInt('points'),
  }),
});

const DailyUsageRef = builder.objectRef<Day>('DailyStorageUsage').implement({
  fields: (t) => ({
    day: t.exposeString('day', { description: 'Calendar day in the organization time zone (YYYY-MM-DD)' }),
    addedBytes: t.expose('addedBytes', { type: 'BigInt' }),
    removedBytes: t.expose('removedBytes', { type: 'BigInt' }),
    storedBytes: t.expose('storedBytes', { type: 'BigInt', description: 'Held at the end of the day (now, for today)' }),
  }),
});

export const StorageUsageRef = builder.objectRef<StorageUsage>('StorageUsage').implement({
  fields: (t) => ({
    storedBytes: t.expose('storedBytes', { type: 'BigInt', description: 'Bytes held at all destinations' }),
    rawBytes: t.expose('rawBytes', { type: 'BigInt', description: 'Bytes of the recovery points before compression' }),
    compressionSavedBytes: t.expose('compressionSavedBytes', { type: 'BigInt', description: 'Raw minus stored bytes of one copy of each recovery point' }),
    byDestination: t.field({ type: [DestinationUsageRef], resolve: (u) => u.byDestination }),
    byStrategy: t.field({ type: [StrategyUsageRef], resolve: (u) => u.byStrategy }),
    daily: t.field({ type: [DailyUsageRef], resolve: (u) => u.daily }),
  }),
});
