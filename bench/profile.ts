/**
 * `npm run bench -- --cpu-prof`: where each proxy's CPU goes. The bare forwarder and jkbalancer run
 * under `node --cpu-prof` in front of the static backends, each loaded session-less then sticky for
 * the row duration; after a clean exit their profiles are read and the functions with the most self
 * time printed (native work done on behalf of a JS function — a writev, a string encode — counts as
 * that function's), with µs per request so the two proxies compare (process start-up is in there
 * too, spread thin over all the requests). The .cpuprofile files are kept for Chrome DevTools.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runLoad } from './load.js';
import { ROOT } from './procs.js';
import { startBare, startJkbalancer, type ProxyProcess } from './proxies.js';
import { ROUTES, STICKY, startBackends } from './static-rows.js';
import { printTable } from './table.js';

/** Functions shown per proxy. */
const TOP = 25;

interface CpuProfile {
  nodes: { id: number; hitCount?: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  /** µs */
  startTime: number;
  endTime: number;
  samples: number[];
}

export interface ProfileOptions {
  readonly duration: number;
  readonly warmup: number;
  readonly connections: number;
  readonly say: (msg: string) => void;
}

/** A script's place: node_modules/… or repository-relative for files, as is for node: internals. */
function place(url: string, line: number): string {
  if (!url) return '';
  if (!url.startsWith('file://')) return `${url}:${line + 1}`;
  const path = new URL(url).pathname;
  const nm = path.lastIndexOf('/node_modules/');
  return `${nm >= 0 ? path.slice(nm + 1) : relative(ROOT, path)}:${line + 1}`;
}

interface SelfTime {
  readonly fn: string;
  readonly where: string;
  /** % of the samples in which the process was not idle. */
  readonly pct: number;
  readonly us: number;
}

/** Self time by function, most first, and the process's whole non-idle time (µs). */
export function selfTimes(profile: CpuProfile): { functions: SelfTime[]; busyUs: number } {
  const hits = new Map<string, { fn: string; where: string; n: number }>();
  let busy = 0;
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const n = node.hitCount ?? 0;
    if (functionName === '(idle)' || n === 0) continue;
    busy += n;
    const where = place(url, lineNumber);
    const key = `${functionName}\0${where}`;
    const entry = hits.get(key) ?? { fn: functionName || '(anonymous)', where, n: 0 };
    entry.n += n;
    hits.set(key, entry);
  }
  const usPerSample = (profile.endTime - profile.startTime) / profile.samples.length;
  const functions = [...hits.values()].sort((a, b) => b.n - a.n).map((e) => ({ fn: e.fn, where: e.where, pct: (100 * e.n) / busy, us: e.n * usPerSample }));
  return { functions, busyUs: busy * usPerSample };
}

async function profileOne(name: string, start: (flags: string[]) => Promise<ProxyProcess>, o: ProfileOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `jkb-bench-cpuprof-${name}-`));
  const proxy = await start(['--cpu-prof', '--cpu-prof-dir', dir]);
  const url = `http://127.0.0.1:${proxy.port}/app/`;
  let requests = 0;
  for (const cookie of [undefined, STICKY]) {
    o.say(`  ${name} ${cookie ? 'sticky' : 'session-less'} under --cpu-prof (${o.duration} s)…`);
    for (const seconds of [o.warmup, o.duration]) requests += (await runLoad({ url, connections: o.connections, cookie, seconds })).requests;
  }
  await proxy.stop();
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`${name} wrote no profile into ${dir}`);
  console.log(`\n${name}: top self time over ${requests} requests (% of non-idle samples), profile ${join(dir, file)}`);
  const { functions, busyUs } = selfTimes(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile);
  const perReq = (us: number) => (us / requests).toFixed(2);
  printTable(
    ['function', 'where', 'self %', 'µs/req'],
    [...functions.slice(0, TOP).map((f) => [f.fn, f.where, f.pct.toFixed(1), perReq(f.us)]), ['all non-idle', '', '100.0', perReq(busyUs)]],
    2,
  );
}

export async function profileProxies(o: ProfileOptions): Promise<void> {
  const ports = await startBackends();
  await profileOne('bare-forwarder', (flags) => startBare(ports, flags), o);
  await profileOne('jkbalancer', (flags) => startJkbalancer('profiled', ROUTES.map((n) => ({ name: n, type: 'http', port: ports[n] })), flags), o);
}
