// Storage usage: bytes per destination and strategy, compression savings, a 30-day chart.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { bytes, gql } from './api';

interface Usage {
  storedBytes: string; rawBytes: string; compressionSavedBytes: string;
  byDestination: Array<{ name: string; kind: string; storedBytes: string; copies: number }>;
  byStrategy: Array<{ name: string; storedBytes: string; rawBytes: string; points: number }>;
  daily: Array<{ day: string; addedBytes: string; storedBytes: string }>;
}

export function Storage() {
  const [u, setU] = useState<Usage | null>(null);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    gql<{ storageUsage: Usage }>(`{ storageUsage(days: 30) { storedBytes rawBytes compressionSavedBytes byDestination { name kind storedBytes copies } byStrategy { name storedBytes rawBytes points } daily { day addedBytes storedBytes } } }`)
      .then((d) => setU(d.storageUsage), (e: Error) => setErr(e.message));
  }, []);
  if (!u) return html`<p>${err ?? 'Loading…'}</p>`;
  const max = Math.max(1, ...u.daily.map((d) => Number(d.storedBytes)));
  const w = 600, h = 120, bw = w / u.daily.length;
  return html`
    <h2>Storage usage</h2>
    <p><strong>${bytes(u.storedBytes)}</strong> stored at all destinations · compression saved <strong>${bytes(u.compressionSavedBytes)}</strong> of ${bytes(u.rawBytes)}</p>
    <svg class="chart" viewBox=${`0 0 ${w} ${h + 16}`} role="img" aria-label="Bytes stored per day, last 30 days">
      ${u.daily.map((d, i) => { const bh = (Number(d.storedBytes) / max) * h; return html`<rect key=${d.day} x=${i * bw + 1} y=${h - bh} width=${bw - 2} height=${bh}><title>${d.day}: ${bytes(d.storedBytes)} (+${bytes(d.addedBytes)})</title></rect>`; })}
      <text x="0" y=${h + 14}>${u.daily[0]?.day}</text><text x=${w} y=${h + 14} text-anchor="end">${u.daily.at(-1)?.day}</text>
    </svg>
    <h3>Per destination</h3>
    <table><thead><tr><th>Destination</th><th>Kind</th><th>Stored</th><th>Copies</th></tr></thead>
      <tbody>${u.byDestination.map((d) => html`<tr key=${d.name}><td>${d.name}</td><td>${d.kind}</td><td>${bytes(d.storedBytes)}</td><td>${d.copies}</td></tr>`)}</tbody></table>
    <h3>Per strategy</h3>
    <table><thead><tr><th>Strategy</th><th>Stored (all copies)</th><th>Raw</th><th>Points</th></tr></thead>
      <tbody>${u.byStrategy.map((s) => html`<tr key=${s.name}><td>${s.name}</td><td>${bytes(s.storedBytes)}</td><td>${bytes(s.rawBytes)}</td><td>${s.points}</td></tr>`)}</tbody></table>
  `;
}
