// What sending needs, taken from the running process's services and configuration.
import type { AppServices } from '../../services';
import type { DeliveryDeps } from './deliver';

export function deliveryDeps(app: Pick<AppServices, 'db' | 'masterKey' | 'log' | 'config'>): DeliveryDeps {
  const a = app.config.alerts;
  return {
    db: app.db, masterKey: app.masterKey, log: app.log, publicUrl: a.publicUrl, timeoutMs: a.timeoutMs,
    smtp: { url: a.smtpUrl, from: a.smtpFrom, timeoutMs: a.timeoutMs },
  };
}
