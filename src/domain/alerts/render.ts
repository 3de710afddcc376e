// Turning a payload into what people read: an e-mail subject, plain-text and HTML bodies, and
// Slack blocks. Pure functions of the payload (with the absolute link already in it).
import type { AlertPayload } from './payload';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function about(p: AlertPayload): string {
  return p.alert?.strategy?.name ?? p.alert?.resourceType ?? p.organization.name;
}

export function subjectOf(p: AlertPayload): string {
  const a = p.alert;
  switch (p.type) {
    case 'alert.opened':
      return `[Keepsake] ${a!.severity}: ${a!.title} — ${about(p)}`;
    case 'alert.escalated':
      return `[Keepsake] ESCALATION ${p.escalation?.step ?? ''}: ${a!.title} — ${about(p)} (not acknowledged)`;
    case 'alert.acknowledged':
      return `[Keepsake] Acknowledged: ${a!.title} — ${about(p)}`;
    case 'alert.resolved':
      return `[Keepsake] Resolved: ${a!.title} — ${about(p)}`;
    case 'backup.succeeded':
      return `[Keepsake] Backup succeeded — ${p.backup!.strategy.name}`;
    case 'digest.daily':
      return `[Keepsake] Daily digest ${p.digest!.date} — ${p.digest!.succeeded} succeeded, ${p.digest!.failed} failed, ${p.digest!.openAlerts.length} open alerts`;
    case 'test':
      return `[Keepsake] Test message for ${p.organization.name}`;
  }
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** Label/value pairs shown in every rendering. */
export function figuresOf(p: AlertPayload): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  if (p.alert) {
    const a = p.alert;
    rows.push(['Severity', a.severity], ['State', a.state]);
    if (a.strategy) rows.push(['Strategy', a.strategy.name]);
    rows.push(['Occurrences', String(a.count)], ['First seen', a.firstSeenAt], ['Last seen', a.lastSeenAt]);
    for (const [k, v] of Object.entries(a.figures)) rows.push([k, v === null ? '—' : String(v)]);
  }
  if (p.escalation) rows.push(['Escalation step', String(p.escalation.step)], ['Contact', p.escalation.contact]);
  if (p.backup) {
    const b = p.backup;
    rows.push(['Strategy', b.strategy.name], ['Raw size', humanBytes(b.rawBytes)], ['Stored size', humanBytes(b.storedBytes)], ['Duration', `${(b.durationMs / 1000).toFixed(1)} s`], ['Finished', b.finishedAt]);
  }
  if (p.digest) {
    const d = p.digest;
    rows.push(['Day', d.date], ['Backups succeeded', String(d.succeeded)], ['Backups failed', String(d.failed)], ['Open alerts', String(d.openAlerts.length)]);
  }
  return rows;
}

function headline(p: AlertPayload): string {
  if (p.alert) return `${p.alert.title}: ${p.alert.message}`;
  if (p.type === 'backup.succeeded') return `The backup of ${p.backup!.strategy.name} succeeded.`;
  if (p.type === 'digest.daily') return `What happened in ${p.organization.name} on ${p.digest!.date}.`;
  return `This is a test message from Keepsake for ${p.organization.name}. If you can read it, the channel works.`;
}

function digestLines(p: AlertPayload): string[] {
  if (!p.digest) return [];
  const d = p.digest;
  return [
    ...(d.failures.length ? ['', 'Failures:', ...d.failures.map((f) => `- ${f.strategy}: ${f.error ?? 'failed'}${f.finishedAt ? ` (${f.finishedAt})` : ''}`)] : []),
    ...(d.openAlerts.length ? ['', 'Open alerts:', ...d.openAlerts.map((a) => `- [${a.severity}] ${a.title} ×${a.count} (last ${a.lastSeenAt})`)] : []),
  ];
}

export function textOf(p: AlertPayload): string {
  return [headline(p), '', ...figuresOf(p).map(([k, v]) => `${k}: ${v}`), ...digestLines(p), '', `Open in Keepsake: ${p.link}`, `Event id: ${p.id}`].join('\n') + '\n';
}

export function htmlOf(p: AlertPayload): string {
  const rows = figuresOf(p).map(([k, v]) => `<tr><th align="left" style="padding:2px 12px 2px 0">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  const digest = p.digest
    ? [
        p.digest.failures.length ? `<h3>Failures</h3><ul>${p.digest.failures.map((f) => `<li>${esc(f.strategy)}: ${esc(f.error ?? 'failed')}</li>`).join('')}</ul>` : '',
        p.digest.openAlerts.length ? `<h3>Open alerts</h3><ul>${p.digest.openAlerts.map((a) => `<li>[${esc(a.severity)}] ${esc(a.title)} ×${a.count}</li>`).join('')}</ul>` : '',
      ].join('')
    : '';
  return `<!doctype html><html><body style="font-family:sans-serif"><h2>${esc(subjectOf(p).replace(/^\[Keepsake\] /, ''))}</h2><p>${esc(headline(p))}</p><table>${rows}</table>${digest}<p><a href="${esc(p.link)}">Open in Keepsake</a></p><p style="color:#888;font-size:smaller">Event id ${esc(p.id)}</p></body></html>`;
}

/** A Slack-compatible incoming-webhook body: a fallback `text` and readable blocks. */
export function slackBodyOf(p: AlertPayload): Record<string, unknown> {
  const fields = figuresOf(p).slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${v.slice(0, 200)}` }));
  const digest = digestLines(p).join('\n').trim();
  return {
    text: subjectOf(p),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: subjectOf(p).replace(/^\[Keepsake\] /, '').slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: headline(p).slice(0, 3000) } },
      ...(fields.length ? [{ type: 'section', fields }] : []),
      ...(digest ? [{ type: 'section', text: { type: 'mrkdwn', text: digest.slice(0, 3000) } }] : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `<${p.link}|Open in Keepsake> · event ${p.id}` }] },
    ],
  };
}
