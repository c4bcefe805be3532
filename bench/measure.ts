/**
 * One bench row: a target (a URL, maybe a cookie, maybe a proxy process) is warmed up, then loaded
 * for a fixed time while the proxy's CPU time is read before and after; with --repeat the rows are
 * measured round after round (so drift on a shared machine hits all of them alike) and every
 * column is the median of the rounds; a ratio between two rows is the median of their ratios within
 * each round.
 */
import { runLoad } from './load.js';
import { PROXY_CPU, canPin, cpuBusyUs, cpuTimeUs } from './procs.js';

export interface Target {
  readonly scenario: string;
  readonly url: string;
  readonly cookie?: string;
  /** The proxy process whose CPU is measured; none on the direct rows. */
  readonly proxyPid?: number;
  /** The bare-forwarder row this row's CPU per request is compared with. */
  readonly bare?: string;
  /** AJP rows: the same balancer's HTTP row, for the AJP/HTTP ratio. */
  readonly http?: string;
  /** The `--processes` rows: proxy, load and backends all on every core, as on a production box. */
  readonly unpinned?: boolean;
}

export interface Row {
  readonly scenario: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly requests: number;
  /** The proxy process's user+system CPU time per completed request, µs. */
  readonly cpuUsPerReq: number | null;
  /**
   * Share of the row the proxy was on the CPU, %. Below ~90 it waited for the load side, handled
   * fewer requests per event-loop turn and paid more per request: compare such rows with care.
   */
  readonly proxyBusyPct: number | null;
  /**
   * Share of the proxy CPU's time that went to anything but the row's proxy, %; null unpinned and on
   * direct rows (with the load CPU saturated, the machine's other work fills the idle proxy CPU then).
   */
  readonly otherLoadPct: number | null;
  readonly vsBare: number | null;
  readonly ajpVsHttp: number | null;
}

type Sample = Omit<Row, 'scenario' | 'vsBare' | 'ajpVsHttp'>;

export interface MeasureOptions {
  readonly duration: number;
  readonly warmup: number;
  readonly connections: number;
  readonly repeat: number;
  readonly say: (msg: string) => void;
}

/** Above this share of the proxy CPU busy with other processes, a row waits (up to QUIET_WAIT_S). */
const QUIET_PCT = 10;
const QUIET_WAIT_S = 30;

/**
 * On a shared machine, waits a while for the proxy CPU to be free of other processes' work
 * before a row (ours are idle between rows); the row's "other" column shows what it got anyway.
 */
async function quietProxyCpu(say: (msg: string) => void): Promise<void> {
  if (!canPin) return;
  const deadline = Date.now() + QUIET_WAIT_S * 1000;
  for (let told = false; ; told = true) {
    const busy = cpuBusyUs(PROXY_CPU);
    await new Promise((r) => setTimeout(r, 1000));
    const after = cpuBusyUs(PROXY_CPU);
    const pct = busy === null || after === null ? 0 : (after - busy) / 1e4;
    if (pct < QUIET_PCT) return;
    if (Date.now() > deadline) return say(`    CPU ${PROXY_CPU} still ${pct.toFixed(0)} % busy with work not of the bench; measuring anyway`);
    if (!told) say(`    CPU ${PROXY_CPU} ${pct.toFixed(0)} % busy with work not of the bench; waiting up to ${QUIET_WAIT_S} s`);
  }
}

async function sample(t: Target, o: MeasureOptions): Promise<Sample> {
  const spec = { url: t.url, connections: o.connections, cookie: t.cookie, unpinned: t.unpinned };
  if (t.proxyPid !== undefined) await quietProxyCpu(o.say);
  // JIT, pools, keep-alive sockets: the measured window compares steady states.
  await runLoad({ ...spec, seconds: o.warmup });
  const pid = t.proxyPid;
  if (pid === undefined) return { ...(await runLoad({ ...spec, seconds: o.duration })), cpuUsPerReq: null, proxyBusyPct: null, otherLoadPct: null };
  const before = { own: cpuTimeUs(pid), busy: cpuBusyUs(PROXY_CPU), at: performance.now() };
  const r = await runLoad({ ...spec, seconds: o.duration });
  const after = { own: cpuTimeUs(pid), busy: cpuBusyUs(PROXY_CPU), at: performance.now() };
  const own = before.own !== null && after.own !== null ? after.own - before.own : null;
  const cpuUsPerReq = own !== null && r.requests > 0 ? own / r.requests : null;
  const pct = (us: number) => us / ((after.at - before.at) * 10); // µs of a window measured in ms, as %
  // Unpinned rows share every core with the load: no core is the proxy's alone to account for.
  const other = canPin && !t.unpinned && own !== null && before.busy !== null && after.busy !== null ? after.busy - before.busy - own : null;
  return { ...r, cpuUsPerReq, proxyBusyPct: own === null ? null : pct(own), otherLoadPct: other === null ? null : Math.max(0, pct(other)) };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function combine(samples: Sample[]): Sample {
  const medianOf = (pick: (s: Sample) => number | null) => {
    const v = samples.map(pick);
    return v.every((x) => x !== null) ? median(v as number[]) : null;
  };
  return {
    rps: median(samples.map((s) => s.rps)),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    // Errors are summed, not medianed: any error in any round should show.
    errors: samples.reduce((n, s) => n + s.errors, 0),
    requests: samples.reduce((n, s) => n + s.requests, 0),
    cpuUsPerReq: medianOf((s) => s.cpuUsPerReq),
    proxyBusyPct: medianOf((s) => s.proxyBusyPct),
    otherLoadPct: medianOf((s) => s.otherLoadPct),
  };
}

export async function measureAll(targets: Target[], o: MeasureOptions): Promise<Row[]> {
  const samples = new Map<Target, Sample[]>(targets.map((t) => [t, []]));
  for (let round = 1; round <= o.repeat; round++) {
    for (const t of targets) {
      o.say(`  ${o.repeat > 1 ? `[${round}/${o.repeat}] ` : ''}${t.scenario}`);
      samples.get(t)!.push(await sample(t, o));
    }
  }
  const byScenario = new Map(targets.map((t) => [t.scenario, samples.get(t)!]));
  /**
   * The median over the rounds of this row's CPU per request ÷ the other row's in the same round:
   * the machine's speed drifts between rounds, much less between two rows of one round.
   */
  const ratio = (mine: Sample[], other: string | undefined): number | null => {
    const theirs = other === undefined ? undefined : byScenario.get(other);
    if (theirs === undefined) return null;
    const r: number[] = [];
    for (let i = 0; i < mine.length; i++) {
      const a = mine[i].cpuUsPerReq;
      const b = theirs[i].cpuUsPerReq;
      if (a === null || !b) return null;
      r.push(a / b);
    }
    return r.length > 0 ? median(r) : null;
  };
  return targets.map((t) => {
    const mine = samples.get(t)!;
    return { scenario: t.scenario, ...combine(mine), vsBare: ratio(mine, t.bare), ajpVsHttp: ratio(mine, t.http) };
  });
}
