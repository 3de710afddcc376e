// The process logger (pino): structured JSON lines, secrets redacted by key name.
import { pino, type Logger } from 'pino';

// Secrets must never reach the log: redact the usual suspects wherever they appear.
export const REDACT_PATHS = [
  'password', '*.password', 'secret', '*.secret', 'token', '*.token', 'authorization', '*.authorization',
  'headers.authorization', 'connectionUrl', '*.connectionUrl', 'secretAccessKey', '*.secretAccessKey',
  'accessKeyId', '*.accessKeyId', 'url', '*.url', 'masterKey',
];

export function createLogger(level: string, name = 'keepsake'): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}

export type { Logger };
