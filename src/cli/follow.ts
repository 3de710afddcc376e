// `--follow`: a job's progress from its subscription (backupJobUpdated / recoveryJobUpdated) until
// it ends. On a terminal, a cli-progress bar (percent, bytes, rate, ETA); otherwise (CI logs, a
// pipe) plain lines, one per phase change and per 10 % step, so logs stay short. The job is read
// once more after subscribing, since it may have ended before the subscription started.
import { SingleBar } from 'cli-progress';
import { bytes, duration } from './output';

export interface JobState {
  status: string;
  phase?: string | null;
  bytesDone: string;
  bytesTotal?: string | null;
  percent?: number | null;
  etaSeconds?: number | null;
  error?: string | null;
  errorCode?: string | null;
}

export const FINAL_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export interface Follower {
  update(state: JobState): void;
  stop(): void;
}

export function progressDisplay(label: string, opts: { quiet: boolean; tty?: boolean }): Follower {
  if (opts.quiet) return { update() {}, stop() {} };
  const tty = opts.tty ?? Boolean(process.stdout.isTTY);
  let lastBytes = 0;
  let lastAt = Date.now();
  let rate = 0;
  const rateOf = (done: number) => {
    const now = Date.now();
    if (now - lastAt >= 500) {
      rate = ((done - lastBytes) * 1000) / (now - lastAt);
      lastBytes = done;
      lastAt = now;
    }
    return rate;
  };
  if (tty) {
    const bar = new SingleBar({
      stream: process.stdout,
      format: `${label} {status} {phase} [{bar}] {percentage}% | {done} of {total} | {rate}/s | ETA {eta}`,
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
    });
    let started = false;
    return {
      update(s) {
        const done = Number(s.bytesDone);
        const payload = { status: s.status, phase: s.phase ?? '', done: bytes(done), total: s.bytesTotal ? bytes(s.bytesTotal) : '?', rate: bytes(Math.round(rateOf(done))), eta: s.etaSeconds != null ? duration(s.etaSeconds * 1000) : '-' };
        const value = Math.round(s.status === 'SUCCEEDED' ? 100 : (s.percent ?? 0));
        if (!started) {
          bar.start(100, value, payload);
          started = true;
        } else bar.update(value, payload);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let lastKey = '';
  return {
    update(s) {
      const step = Math.floor((s.percent ?? 0) / 10) * 10;
      const key = `${s.status}/${s.phase ?? ''}/${step}`;
      if (key === lastKey) return;
      lastKey = key;
      const done = Number(s.bytesDone);
      const parts = [new Date().toISOString(), label, s.status, s.phase ?? '', s.percent != null ? `${Math.round(s.percent)}%` : '', `${bytes(done)}${s.bytesTotal ? ` of ${bytes(s.bytesTotal)}` : ''}`];
      const r = rateOf(done);
      if (r > 0) parts.push(`${bytes(Math.round(r))}/s`);
      if (s.etaSeconds != null && !FINAL_STATUSES.includes(s.status)) parts.push(`ETA ${duration(s.etaSeconds * 1000)}`);
      if (s.error) parts.push(`error: ${s.error}`);
      process.stdout.write(`${parts.filter(Boolean).join(' ')}\n`);
    },
    stop() {},
  };
}

/**
 * Follows a job until a final status: `events` is its subscription, `read` reads it once (for a
 * job that ended before the subscription saw it, and as a slow safety net). Returns the last state.
 */
export async function followJob<S extends JobState>(events: AsyncGenerator<S>, read: () => Promise<S>, show: Follower): Promise<S> {
  let last: S | undefined;
  let settle!: (s: S) => void;
  let fail!: (e: unknown) => void;
  const finished = new Promise<S>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const seen = (s: S) => {
    last = s;
    show.update(s);
    if (FINAL_STATUSES.includes(s.status)) settle(s);
  };
  void (async () => {
    try {
      for await (const s of events) {
        seen(s);
        if (FINAL_STATUSES.includes(s.status)) break;
      }
    } catch (err) {
      fail(err);
    }
  })();
  const poll = setInterval(() => void read().then(seen, () => undefined), 5000);
  try {
    seen(await read());
    return await finished;
  } finally {
    clearInterval(poll);
    show.stop();
    // Not awaited: the generator may be waiting for an event; closing the client ends it.
    void events.return(last as S).catch(() => undefined);
  }
}
