// Real receivers for alert deliveries: an SMTP server (smtp-server) whose messages are parsed with
// mailparser, and an HTTP server that verifies Standard Webhooks signatures with the library's own
// verifier and can answer 500 first, or hang, to exercise retries and timeouts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';

export interface TestSmtp {
  url: string;
  messages: Array<ParsedMail & { envelopeTo: string[] }>;
  close(): Promise<void>;
}

export async function startSmtp(): Promise<TestSmtp> {
  const messages: TestSmtp['messages'] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          messages.push(Object.assign(mail, { envelopeTo: session.envelope.rcptTo.map((r) => r.address) }));
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${port}`, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  answered: number | 'hung';
}

export interface TestReceiver {
  url: string;
  received: Received[];
  /** Per path: the secret to verify with (a bad signature answers 401). */
  secrets: Map<string, string>;
  close(): Promise<void>;
}

/**
 * Paths: /ok answers 204 (after verifying the signature when a secret is set for it), /flaky-* 500
 * on the first request then 204, /hang-* never answers the first request, then 204.
 */
export async function startReceiver(): Promise<TestReceiver> {
  const received: Received[] = [];
  const secrets = new Map<string, string>();
  const seen = new Map<string, number>();
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const n = (seen.get(path) ?? 0) + 1;
      seen.set(path, n);
      const record = (answered: Received['answered']) => received.push({ path, headers, body, answered });
      if (path.startsWith('/hang') && n === 1) {
        record('hung');
        hung.push(res);
        return;
      }
      let status = path.startsWith('/flaky') && n === 1 ? 500 : 204;
      const secret = secrets.get(path);
      if (status === 204 && secret) {
        try {
          new Webhook(secret).verify(body, headers);
        } catch {
          status = 401;
        }
      }
      record(status);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    secrets,
    close: async () => {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
