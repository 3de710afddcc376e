// Sends alert notifications (webhooks, Slack, e-mail), one delivery per job. A failed attempt is
// thrown back to pg-boss, which retries it with backoff and finally hands it to the dead letter.
import type { AppServices } from '../../services';
import { deliveryDeps } from '../../domain/alerts/deps';
import { runDelivery } from '../../domain/alerts/deliver';
import { queues } from '../../queue/queues';

export async function registerAlertDeliveryWorker(app: AppServices): Promise<void> {
  const deps = deliveryDeps(app);
  await app.boss.work(queues.alertDelivery.name, { localConcurrency: 2, pollingIntervalSeconds: 2 }, async ([job]) => {
    const payload = queues.alertDelivery.payload.parse(job!.data);
    const outcome = await runDelivery(deps, { ...payload, attempt: job!.retryCount + 1 });
    if (outcome.status === 'RETRY') throw new Error(outcome.error);
    return outcome;
  });
}
