/**
 * The load generator, always a process of its own on the load CPU: wrk when installed (one thread,
 * compiled, far cheaper per request than a Node client on a 2-core machine), else autocannon.
 * A fixed number of requests (the syscall counts) always uses autocannon: wrk cannot stop at a count.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { LOAD_CPU, ROOT, spawnOn, which } from './procs.js';

export interface LoadSpec {
  readonly url: string;
  readonly connections: number;
  /** Run for this long… */
  readonly seconds?: number;
  /** …or until this many requests have completed. */
  readonly amount?: number;
  readonly cookie?: string;
  /** On every core (the `--processes` rows) instead of the load CPU alone. */
  readonly unpinned?: boolean;
}

export interface LoadResult {
  /** Requests completed. */
  readonly requests: number;
  readonly rps: number;
  /** Latency, ms. */
  readonly p50: number;
  readonly p99: number;
  /** Socket errors, timeouts and non-2xx/3xx replies. */
  readonly errors: number;
}

const wrk = which('wrk');
/** A reply slower than this counts as an error (a timeout), so a stalled row shows as one. */
const TIMEOUT_S = 2;
export const loadTool = wrk ? 'wrk (1 thread)' : 'autocannon (child process)';

function output(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    // 'close', not 'exit': only then has all of stdout been read.
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${what} exited with code ${code}:\n${out}`))));
  });
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const args = ['-t1', `-c${spec.connections}`, `-d${spec.seconds}s`, '--timeout', `${TIMEOUT_S}s`, '-s', join(ROOT, 'bench/wrk-report.lua')];
  if (spec.cookie) args.push('-H', `Cookie: ${spec.cookie}`);
  const out = await output(spawnOn(spec.unpinned ? null : LOAD_CPU, wrk!, [...args, spec.url], { stdio: ['ignore', 'pipe', 'inherit'] }), 'wrk');
  const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  const r = JSON.parse(line.slice('WRK_JSON '.length)) as { requests: number; durationUs: number; p50Us: number; p99Us: number; errors: number };
  return { requests: r.requests, rps: r.requests / (r.durationUs / 1e6), p50: r.p50Us / 1000, p99: r.p99Us / 1000, errors: r.errors };
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const opts = {
    url: spec.url,
    connections: spec.connections,
    timeout: TIMEOUT_S,
    ...(spec.amount ? { amount: spec.amount } : { duration: spec.seconds }),
    headers: spec.cookie ? { cookie: spec.cookie } : {},
  };
  // The TLS row's certificate is self-signed (wrk does not check certificates either).
  const env = spec.url.startsWith('https:') ? { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0' } : process.env;
  const child = spawnOn(spec.unpinned ? null : LOAD_CPU, process.execPath, [join(ROOT, 'dist/bench/autocannon-child.js'), JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'], env });
  return JSON.parse(await output(child, 'autocannon')) as LoadResult;
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return wrk && !spec.amount ? runWrk(spec) : runAutocannon(spec);
}
