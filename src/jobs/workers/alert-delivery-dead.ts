// A delivery whose retries ran out: it says DEAD, with its last error kept for the delivery log.
import type { AppServices } from '../../services';
import { markDeliveryDead } from '../../domain/alerts/deliver';
import { queues } from '../../queue/queues';

export async function registerAlertDeliveryDeadLetter(app: AppServices): Promise<void> {
  await app.boss.work(queues.alertDeliveryDead.name, { pollingIntervalSeconds: 5 }, async ([job]) => {
    const payload = queues.alertDeliveryDead.payload.parse(job!.data);
    if (await markDeliveryDead(app.db, payload)) app.log.warn({ deliveryId: payload.deliveryId }, 'notification dead after its retries');
  });
}
