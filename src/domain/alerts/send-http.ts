// One POST to a tenant-named URL. The host goes through the outbound policy: a literal address
// is checked before connecting, a name is resolved by the policy's checking lookup, so a hook
// that resolves to the metadata service is refused at delivery. Redirects are not followed (a
// 3xx is a failed delivery), the answer is read up to 2 KB, and the whole exchange is bounded.
import http from 'node:http';
import https from 'node:https';
import { outboundPolicy } from '../../backup/outbound';

export interface HttpAnswer {
  statusCode: number;
  durationMs: number;
  body: string;
}

export class DeliveryTimeoutError extends Error {
  override name = 'DeliveryTimeoutError';
}

export function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<HttpAnswer> {
  const target = new URL(url);
  outboundPolicy().checkLiteral(target.hostname, 'the channel URL');
  const started = Date.now();
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = lib.request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Keepsake-Notifications/1', ...headers },
        lookup: outboundPolicy().lookup,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 2048) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ statusCode: res.statusCode ?? 0, durationMs: Date.now() - started, body: Buffer.concat(chunks).toString('utf8').slice(0, 2048) });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new DeliveryTimeoutError(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}
