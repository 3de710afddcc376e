// Strategy detail: the history table and the recovery points (verified badge, restore, restore test).
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { bytes, canOperate, duration, gql, onJobEvents, unwrap, when, type Role } from './api';

interface Job { id: string; trigger: string; status: string; durationMs: number | null; queuedAt: string; initiatedBy: string | null; recoveryPoint: { storedBytes: string } | null }
interface Point { id: string; takenAt: string; storedBytes: string; verifiedAt: string | null; legalHold: boolean }
interface Data { node: { id: string; name: string; latestJobs: Job[]; recoveryPoints: { edges: Array<{ node: Point }> } } | null }

const DETAIL = /* GraphQL */ `
  query StrategyDetail($id: ID!) {
    node(id: $id) { ... on Strategy { id name
      latestJobs(first: 50) { id trigger status durationMs queuedAt initiatedBy recoveryPoint { storedBytes } }
      recoveryPoints(first: 20) { edges { node { id takenAt storedBytes verifiedAt legalHold } } } } }
  }
`;

export function StrategyDetail({ id, role }: { id: string; role: Role }) {
  const [data, setData] = useState<Data | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  const load = () => gql<Data>(DETAIL, { id }).then(setData, (e: Error) => setMsg(e.message));
  useEffect(() => { void load(); return onJobEvents((e) => { if (e.status) void load(); }); }, [id]);

  const verify = async (pointId: string) => {
    try {
      const r = await gql<{ verifyRecoveryPoint: { __typename: string; data?: { id: string }; message?: string } }>(
        `mutation($id: ID!) { verifyRecoveryPoint(input: { recoveryPointId: $id }) { __typename ... on MutationVerifyRecoveryPointSuccess { data { id } } ... on Error { message } } }`, { id: pointId });
      unwrap(r.verifyRecoveryPoint);
      setMsg('Restore test queued');
    } catch (e) { setMsg((e as Error).message); }
  };
  const restore = async (pointId: string) => {
    const url = prompt('Restore into a NEW database: its connection URL (postgres://…)');
    if (!url) return;
    try {
      const r = await gql<{ restoreRecoveryPoint: { __typename: string; data?: { id: string }; message?: string } }>(
        `mutation($input: RestoreRecoveryPointInput!) { restoreRecoveryPoint(input: $input) { __typename ... on MutationRestoreRecoveryPointSuccess { data { id } } ... on Error { message } } }`,
        { input: { recoveryPointId: pointId, targetKind: 'NEW_DATABASE', connectionUrl: url } });
      unwrap(r.restoreRecoveryPoint);
      setMsg('Restore queued');
    } catch (e) { setMsg((e as Error).message); }
  };

  if (!data) return html`<p>${msg ?? 'Loading…'}</p>`;
  if (!data.node) return html`<p class="error">Strategy not found</p>`;
  const s = data.node;
  return html`
    <h2>${s.name}</h2>
    ${msg && html`<p class="note">${msg}</p>`}
    <section>
      <h3>History</h3>
      <table data-testid="history">
        <thead><tr><th>Queued</th><th>Trigger</th><th>Status</th><th>Duration</th><th>Size</th><th>Initiated by</th></tr></thead>
        <tbody>${s.latestJobs.map((j) => html`<tr key=${j.id} data-job=${j.id}>
          <td>${when(j.queuedAt)}</td><td><span class=${`badge trigger-${j.trigger}`}>${j.trigger}</span></td>
          <td><span class=${`badge status-${j.status}`}>${j.status}</span></td><td>${duration(j.durationMs)}</td>
          <td>${bytes(j.recoveryPoint?.storedBytes)}</td><td>${j.initiatedBy ?? (j.trigger === 'SCHEDULED' ? 'schedule' : '—')}</td></tr>`)}</tbody>
      </table>
    </section>
    <section>
      <h3>Recovery points</h3>
      <table>
        <thead><tr><th>Taken</th><th>Size</th><th>Verified</th><th></th></tr></thead>
        <tbody>${s.recoveryPoints.edges.map(({ node: p }) => html`<tr key=${p.id}>
          <td>${when(p.takenAt)}</td><td>${bytes(p.storedBytes)}</td>
          <td>${p.verifiedAt ? html`<span class="badge ok">verified ${when(p.verifiedAt)}</span>` : html`<span class="badge muted">not verified</span>`}${p.legalHold ? html` <span class="badge">legal hold</span>` : null}</td>
          <td>${canOperate(role) ? html`<button onClick=${() => restore(p.id)}>Restore</button> <button onClick=${() => verify(p.id)}>Test restore</button>` : null}</td></tr>`)}</tbody>
      </table>
    </section>
  `;
}
