/**
 * `npm run bench -- --instructions`: user-space instructions per request of the bare forwarder and of
 * jkbalancer, counted by valgrind's callgrind over a fixed number of requests after a warm-up. A
 * count does not drift with the machine's speed or its neighbours the way CPU time does on a shared
 * box, so two builds (or jkbalancer and the bare forwarder) compare to within a few per cent in one
 * run; what it leaves out is the kernel's share (the syscalls, and waking the process at the other
 * end of each socket), which `--strace` counts. Under valgrind a process runs some 50 times slower:
 * the requests come from a small keep-alive client in the bench process, one at a time per connection.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { which } from './procs.js';
import { startBare, startJkbalancer, type ProxyProcess } from './proxies.js';
import { ROUTES, STICKY, startBackends } from './static-rows.js';
import { printTable } from './table.js';

export interface InstructionOptions {
  /** Requests counted per row. */
  readonly requests: number;
  readonly say: (msg: string) => void;
  readonly json: boolean;
}

/** Requests before counting starts: V8 must have compiled the hot paths (under valgrind too). */
const WARMUP_REQUESTS = 12_000;
const CONNECTIONS = 8;

/** `n` GET requests to the proxy on `port`, CONNECTIONS at a time on keep-alive connections. */
function load(port: number, n: number, cookie: string | undefined): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  let started = 0;
  let done = 0;
  return new Promise<void>((resolve, reject) => {
    const one = (): void => {
      if (started >= n) return;
      started++;
      const req = http.request({ host: '127.0.0.1', port, path: '/app/', agent, headers: cookie ? { cookie } : {} }, (res) => {
        res.resume();
        res.on('end', () => {
          if (++done === n) {
            agent.destroy();
            resolve();
          } else one();
        });
      });
      req.on('error', reject);
      req.end();
    };
    for (let k = 0; k < CONNECTIONS; k++) one();
  });
}

/** The instructions callgrind counted in the dumps of `dir`. */
function countedInstructions(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) {
    const m = /^totals:\s+(\d+)/m.exec(readFileSync(join(dir, f), 'utf8'));
    if (m !== null) total += Number(m[1]);
  }
  return total;
}

interface Row {
  readonly scenario: string;
  readonly instructionsPerRequest: number;
  readonly vsBare: number | null;
}

async function count(start: (wrap: string[]) => Promise<ProxyProcess>, cookie: string | undefined, o: InstructionOptions): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'jkb-bench-callgrind-'));
  // Counting starts switched off: the start and the warm-up are not counted (and run faster).
  const proxy = await start(['valgrind', '--tool=callgrind', '--smc-check=all-non-file', '--instr-atstart=no', `--callgrind-out-file=${join(dir, 'cg.%p')}`]);
  try {
    const port = proxy.port;
    await load(port, WARMUP_REQUESTS, cookie);
    const pid = String(proxy.pid);
    execFileSync('callgrind_control', ['-z', pid], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['-i', 'on', pid], { stdio: 'ignore' });
    await load(port, o.requests, cookie);
    execFileSync('callgrind_control', ['-i', 'off', pid], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['-d', pid], { stdio: 'ignore' });
    return countedInstructions(dir) / o.requests;
  } finally {
    void proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function countInstructions(o: InstructionOptions): Promise<void> {
  if (which('valgrind') === null || which('callgrind_control') === null) throw new Error('--instructions needs valgrind (apt-get install valgrind)');
  const ports = await startBackends();
  const members = ROUTES.map((name) => ({ name, type: 'http' as const, port: ports[name] }));
  const rows: Row[] = [];
  for (const [mode, cookie] of [['session-less', undefined], ['sticky', STICKY]] as const) {
    o.say(`  bare forwarder, ${mode}: ${WARMUP_REQUESTS} requests, then ${o.requests} counted under callgrind…`);
    const bare = await count((wrap) => startBare(ports, [], wrap), cookie, o);
    o.say(`  jkbalancer, ${mode}: the same…`);
    const jkb = await count((wrap) => startJkbalancer(`callgrind-${mode}`, members, [], 1, true, { wrap }), cookie, o);
    rows.push({ scenario: `bare forwarder: ${mode}`, instructionsPerRequest: bare, vsBare: null });
    rows.push({ scenario: `jkbalancer: ${mode}`, instructionsPerRequest: jkb, vsBare: jkb / bare });
  }
  if (o.json) {
    console.log(JSON.stringify({ node: process.version, requests: o.requests, warmup: WARMUP_REQUESTS, rows }, null, 2));
    return;
  }
  printTable(['scenario', 'instructions/req', '× bare'], rows.map((r) => [r.scenario, r.instructionsPerRequest.toFixed(0), r.vsBare === null ? '' : `${r.vsBare.toFixed(2)}×`]));
  console.log(`\nUser-space instructions per request (valgrind callgrind), ${o.requests} requests counted after ${WARMUP_REQUESTS} of warm-up; the kernel's share is not in them.`);
}
