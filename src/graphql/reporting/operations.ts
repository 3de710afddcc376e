// Reporting queries: storage usage of the viewer's organization. Thin: role check, then the domain.
import { storageUsage, USAGE_DAYS_MAX } from '../../domain/reporting/storage-usage';
import { builder } from '../builder';
import { StorageUsageRef } from './types';

builder.queryFields((t) => ({
  storageUsage: t.field({
    type: StorageUsageRef,
    authScopes: { member: true },
    description: `Bytes stored per destination and strategy, growth per day over the last \`days\` days (1–${USAGE_DAYS_MAX}), and compression savings`,
    args: { days: t.arg.int({ required: false, defaultValue: 30 }) },
    resolve: (_root, args, ctx) => storageUsage(ctx.app.db, ctx.viewer!.orgId, new Date(), args.days ?? 30),
  }),
}));
