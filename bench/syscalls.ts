/**
 * `npm run bench -- --strace`: syscalls per request of each proxy process, counted by
 * `strace -c -f -p <pid>` (every thread) over a fixed number of requests after a warm-up, and for
 * every jkbalancer row set beside its bare-forwarder row — the syscalls jkbalancer makes that the
 * bare forwarder does not are the ones to remove. strace slows the traced process down many times:
 * these are counts, not timings.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from './load.js';
import type { Target } from './measure.js';
import { LOAD_CPU, spawnOn } from './procs.js';
import { printTable } from './table.js';

export interface SyscallOptions {
  readonly requests: number;
  readonly warmup: number;
  readonly connections: number;
  readonly say: (msg: string) => void;
}

/** Syscall name → calls per request. */
export type PerRequest = Record<string, number>;

/** The calls column of `strace -c` output ("% time seconds usecs/call calls [errors] syscall"). */
export function parseStraceSummary(text: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if ((f.length !== 5 && f.length !== 6) || !/^\d/.test(f[0]) || f[f.length - 1] === 'total') continue;
    calls.set(f[f.length - 1], Number(f[3]));
  }
  return calls;
}

function attached(strace: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    strace.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.includes('attached')) resolve();
    });
    strace.once('exit', (code) => reject(new Error(`strace exited (code ${code}): ${err.trim()}`)));
  });
}

async function trace(t: Target, o: SyscallOptions): Promise<PerRequest> {
  o.say(`  ${t.scenario}: ${o.requests} requests under strace…`);
  const spec = { url: t.url, connections: o.connections, cookie: t.cookie };
  await runLoad({ ...spec, seconds: o.warmup });
  const out = join(tmpdir(), `jkb-bench-strace-${t.proxyPid}-${Date.now()}.txt`);
  const strace = spawnOn(LOAD_CPU, 'strace', ['-c', '-f', '-p', String(t.proxyPid), '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  await attached(strace);
  const r = await runLoad({ ...spec, amount: o.requests });
  const exited = new Promise((resolve) => strace.once('exit', resolve));
  strace.kill('SIGINT'); // detach and write the summary
  await exited;
  const calls = parseStraceSummary(readFileSync(out, 'utf8'));
  rmSync(out);
  if (r.errors > 0) o.say(`    (${r.errors} errors among them)`);
  return Object.fromEntries([...calls].map(([name, n]) => [name, n / r.requests]));
}

export async function traceAll(targets: Target[], o: SyscallOptions): Promise<Record<string, PerRequest>> {
  const result: Record<string, PerRequest> = {};
  for (const t of targets) if (t.proxyPid !== undefined) result[t.scenario] = await trace(t, o);
  return result;
}

/** One table per jkbalancer row: its syscalls per request beside its bare forwarder's. */
export function printSyscallTables(targets: Target[], perReq: Record<string, PerRequest>): void {
  const fmt = (n: number) => (n === 0 ? '·' : n.toFixed(2));
  const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;
  const sum = (p: PerRequest) => Object.values(p).reduce((a, b) => a + b, 0);
  for (const t of targets) {
    if (t.bare === undefined) continue;
    const mine = perReq[t.scenario];
    const bare = perReq[t.bare];
    const names = [...new Set([...Object.keys(mine), ...Object.keys(bare)])];
    const rows = names
      .map((n) => ({ n, a: bare[n] ?? 0, b: mine[n] ?? 0 }))
      .filter((r) => r.a >= 0.005 || r.b >= 0.005) // connection set-up and timers, amortised to nothing
      .sort((x, y) => y.b - x.b || y.a - x.a)
      .map((r) => [r.n, fmt(r.a), fmt(r.b), signed(r.b - r.a)]);
    console.log(`\n${t.scenario} (syscalls per request)`);
    printTable(['syscall', t.bare, t.scenario, 'difference'], [...rows, ['total', sum(bare).toFixed(2), sum(mine).toFixed(2), signed(sum(mine) - sum(bare))]]);
  }
}
