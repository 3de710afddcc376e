// Overview: the "ran today" banner, RPO per strategy, running jobs with live progress, next runs.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { ago, bytes, canOperate, gql, onJobEvents, unwrap, when, type Role } from './api';

interface Job { id: string; status: string; percent: number | null; bytesDone: string; bytesTotal: string | null; trigger: string; strategy: { id: string; name: string } }
interface Strategy {
  id: string; name: string; status: string; nextRunAt: string | null; rpoMinutes: number | null;
  recoveryPoints: { edges: Array<{ node: { takenAt: string; storedBytes: string } }> };
}
interface Health { lastSuccessfulBackupAt: string | null; scheduledToday: number; ranToday: number; missedLast24h: number; failingStrategyIds: string[]; runningJobs: number }
interface Data { backupHealth: Health; strategies: { edges: Array<{ node: Strategy }> }; backupJobs: { edges: Array<{ node: Job }> } }

const OVERVIEW = /* GraphQL */ `
  query DashboardOverview {
    backupHealth { lastSuccessfulBackupAt scheduledToday ranToday missedLast24h failingStrategyIds runningJobs }
    strategies(first: 50) { edges { node { id name status nextRunAt rpoMinutes recoveryPoints(first: 1) { edges { node { takenAt storedBytes } } } } } }
    backupJobs(first: 20, filter: { status: [QUEUED, RUNNING, VERIFYING] }) { edges { node { id status percent bytesDone bytesTotal trigger strategy { id name } } } }
  }
`;

export type BannerState = 'green' | 'amber' | 'red';

/** Green: a backup succeeded today and nothing failed or was missed; red: something failed or was missed; amber: not yet today. */
export function bannerState(h: Health, now = new Date()): { state: BannerState; text: string } {
  const midnight = new Date(now); midnight.setHours(0, 0, 0, 0);
  const missed = h.scheduledToday - h.ranToday;
  if (h.failingStrategyIds.length) return { state: 'red', text: `${h.failingStrategyIds.length} strategy(ies) failing: their latest backup failed` };
  if (missed > 0 || h.missedLast24h > 0) return { state: 'red', text: `${Math.max(missed, h.missedLast24h)} scheduled backup(s) missed` };
  const today = !!h.lastSuccessfulBackupAt && new Date(h.lastSuccessfulBackupAt) >= midnight;
  if (today) return { state: 'green', text: `Today's backup ran — last success ${ago(h.lastSuccessfulBackupAt)}` };
  return { state: 'amber', text: `No backup has succeeded today yet (last success: ${ago(h.lastSuccessfulBackupAt)})` };
}

function rpo(s: Strategy): { text: string; ok: boolean | null } {
  const newest = s.recoveryPoints.edges[0]?.node.takenAt;
  if (!s.rpoMinutes) return { text: newest ? `newest point ${ago(newest)}` : 'no points yet', ok: null };
  if (!newest) return { text: `target ${s.rpoMinutes} min, no points yet`, ok: false };
  const age = (Date.now() - new Date(newest).getTime()) / 60000;
  return { text: `${Math.round(age)} / ${s.rpoMinutes} min`, ok: age <= s.rpoMinutes };
}

export function Progress({ percent }: { percent: number | null }) {
  const p = Math.max(0, Math.min(100, Math.round(percent ?? 0)));
  return html`<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${p}>
    <div class="bar" style=${{ width: `${p}%` }}></div><span>${p} %</span>
  </div>`;
}

export function Overview({ role, go }: { role: Role; go: (path: string) => void }) {
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState<Record<string, Partial<Job>>>({});
  const [done, setDone] = useState<Job[]>([]);

  const load = () => gql<Data>(OVERVIEW).then(setData, (e: Error) => setError(e.message));
  useEffect(() => {
    void load();
    return onJobEvents((e) => {
      if (e.kind !== 'BACKUP') return;
      setLive((l) => ({ ...l, [e.jobId]: { status: e.status ?? l[e.jobId]?.status, percent: e.percent ?? l[e.jobId]?.percent ?? null, bytesDone: e.bytesDone ?? l[e.jobId]?.bytesDone } }));
      if (e.status && !['QUEUED', 'RUNNING', 'VERIFYING'].includes(e.status)) void load();
      else if (e.status === 'QUEUED') void load();
    });
  }, []);

  // A job that just finished stays on screen at its final state until the next reload brings news.
  useEffect(() => {
    if (!data) return;
    const running = new Set(data.backupJobs.edges.map((e) => e.node.id));
    setDone((d) => d.filter((j) => !running.has(j.id)));
  }, [data]);

  const trigger = async (id: string) => {
    setError(null);
    try {
      const r = await gql<{ triggerBackup: { __typename: string; data?: Job; message?: string } }>(
        `mutation($id: ID!) { triggerBackup(input: { strategyId: $id }) { __typename ... on MutationTriggerBackupSuccess { data { id status percent bytesDone bytesTotal trigger strategy { id name } } } ... on Error { message } } }`,
        { id },
      );
      const job = unwrap(r.triggerBackup);
      setData((d) => (d ? { ...d, backupJobs: { edges: [{ node: job }, ...d.backupJobs.edges.filter((e) => e.node.id !== job.id)] } } : d));
    } catch (e) {
      setError((e as Error).message);
    }
  };

  if (!data) return html`<p class=${error ? 'error' : ''}>${error ?? 'Loading…'}</p>`;
  const banner = bannerState(data.backupHealth);
  const strategies = data.strategies.edges.map((e) => e.node);
  const jobs = data.backupJobs.edges.map((e) => ({ ...e.node, ...live[e.node.id] }) as Job);
  for (const [id, l] of Object.entries(live)) {
    if (l.status === 'SUCCEEDED' && !jobs.some((j) => j.id === id) && !done.some((j) => j.id === id)) {
      // Finished between two reloads: show it at 100 %.
      done.push({ id, status: 'SUCCEEDED', percent: 100, bytesDone: l.bytesDone ?? '0', bytesTotal: null, trigger: '', strategy: { id: '', name: '' } });
    }
  }
  const upcoming = strategies.filter((s) => s.nextRunAt && s.status === 'ACTIVE').sort((a, b) => a.nextRunAt!.localeCompare(b.nextRunAt!));

  return html`
    <div class=${`banner ${banner.state}`} data-state=${banner.state} data-testid="banner">${banner.text}</div>
    ${error && html`<p class="error">${error}</p>`}
    <section>
      <h2>Running jobs</h2>
      ${jobs.length === 0 && done.length === 0 ? html`<p class="muted">Nothing is running.</p>` : null}
      <ul class="jobs">
        ${jobs.map((j) => html`<li key=${j.id} data-job=${j.id} data-status=${j.status}>
          <a href=${`#/strategy/${j.strategy.id}`}>${j.strategy.name}</a> <span class="badge">${j.trigger}</span> <span class="badge status">${j.status}</span>
          <${Progress} percent=${j.percent} /> <span class="muted">${bytes(j.bytesDone)}${j.bytesTotal ? ` of ~${bytes(j.bytesTotal)}` : ''}</span>
        </li>`)}
        ${done.map((j) => html`<li key=${j.id} data-job=${j.id} data-status="SUCCEEDED"><span class="badge status">SUCCEEDED</span> <${Progress} percent=${100} /></li>`)}
      </ul>
    </section>
    <section>
      <h2>Strategies</h2>
      <table>
        <thead><tr><th>Strategy</th><th>Status</th><th>RPO</th><th>Newest point</th><th>Next run</th><th></th></tr></thead>
        <tbody>
          ${strategies.map((s) => {
            const r = rpo(s);
            return html`<tr key=${s.id}>
              <td><a href=${`#/strategy/${s.id}`} onClick=${(ev: Event) => { ev.preventDefault(); go(`/strategy/${s.id}`); }}>${s.name}</a></td>
              <td><span class="badge">${s.status}</span></td>
              <td><span class=${r.ok === null ? 'muted' : r.ok ? 'ok' : 'bad'}>${r.text}</span></td>
              <td>${bytes(s.recoveryPoints.edges[0]?.node.storedBytes)}</td>
              <td>${when(s.nextRunAt)}</td>
              <td>${canOperate(role) ? html`<button onClick=${() => trigger(s.id)} data-trigger=${s.name}>Back up now</button>` : null}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </section>
    <section>
      <h2>Next runs</h2>
      ${upcoming.length ? html`<ol>${upcoming.slice(0, 5).map((s) => html`<li key=${s.id}>${when(s.nextRunAt)} — ${s.name}</li>`)}</ol>` : html`<p class="muted">No active schedules.</p>`}
    </section>
  `;
}
