// E-mail through the operator's SMTP server (SMTP_URL). The server is the operator's own, so
// the outbound policy does not apply to it; recipients are the tenant's addresses.
import nodemailer from 'nodemailer';
import type { AlertPayload } from './payload';
import { htmlOf, subjectOf, textOf } from './render';

export interface SmtpSettings {
  url?: string;
  from: string;
  timeoutMs: number;
}

export class SmtpNotConfiguredError extends Error {
  override name = 'SmtpNotConfiguredError';
  constructor() {
    super('E-mail cannot be sent: the operator has not configured SMTP_URL');
  }
}

export async function sendEmail(smtp: SmtpSettings, to: string[], payload: AlertPayload): Promise<{ durationMs: number; response: string }> {
  if (!smtp.url) throw new SmtpNotConfiguredError();
  const started = Date.now();
  const transport = nodemailer.createTransport({
    url: smtp.url,
    connectionTimeout: smtp.timeoutMs,
    greetingTimeout: smtp.timeoutMs,
    socketTimeout: smtp.timeoutMs,
  });
  try {
    const info = await transport.sendMail({
      from: smtp.from,
      to,
      subject: subjectOf(payload),
      text: textOf(payload),
      html: htmlOf(payload),
      messageId: `<${payload.id}@keepsake>`,
      headers: { 'X-Keepsake-Event-Id': payload.id, 'X-Keepsake-Event-Type': payload.type },
    });
    return { durationMs: Date.now() - started, response: String(info.response ?? '') };
  } finally {
    transport.close();
  }
}
