/**
 * `npm run bench`: requests/s and latency through the balancer and directly to the backend, in one
 * run, with the ratio. Backends and balancers run as their own processes on free ports; the load
 * comes from autocannon in this process. Nothing here is asserted: it is a measurement.
 *
 *   npm run bench -- [--duration 10] [--connections 50] [--json] [--no-tomcat]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { tomcatRows } from './tomcat-rows.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const duration = opt('duration', 10);
const connections = opt('connections', 50);
const json = flag('json');
const children: ChildProcess[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'jkb-bench-'));

export interface Row {
  scenario: string;
  target: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  baseline?: string;
}

function say(msg: string): void {
  if (!json) process.stderr.write(`${msg}\n`);
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function track(child: ChildProcess): ChildProcess {
  children.push(child);
  return child;
}

async function startBackends(routes: string[]): Promise<Record<string, number>> {
  const child = track(spawn(process.execPath, [join(root, 'dist/bench/backend.js'), ...routes], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const line = await new Promise<string>((resolveLine, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolveLine(buf.slice(0, nl));
    });
    child.once('exit', () => reject(new Error('bench backend exited')));
  });
  return JSON.parse(line) as Record<string, number>;
}

/** Starts `jkbalancer start` on a free port with the given workers file; returns its port. */
export async function startBalancerProcess(name: string, workers: string, mounts = '/*=lb\n'): Promise<number> {
  const wf = join(tmp, `${name}.workers.properties`);
  const mf = join(tmp, `${name}.uriworkermap.properties`);
  writeFileSync(wf, workers);
  writeFileSync(mf, mounts);
  const port = await freePort();
  track(
    spawn(process.execPath, [join(root, 'bin/jkbalancer.js'), 'start', '--workers', wf, '--mounts', mf, '--listen', `127.0.0.1:${port}`, '--no-persist'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  await waitForPort(port);
  return port;
}

export async function measure(scenario: string, target: string, url: string, headers: Record<string, string> = {}): Promise<Row> {
  say(`  ${scenario} (${duration}s, ${connections} connections)…`);
  // Warm-up: JIT, pools and keep-alive sockets, so the measured run compares steady states.
  await autocannon({ url, connections, duration: 1, headers });
  const r = await autocannon({ url, connections, duration, headers });
  return { scenario, target, rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts };
}

function printTable(rows: Row[]): void {
  const byScenario = new Map(rows.map((r) => [r.scenario, r]));
  const lines = [['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'ratio']];
  for (const r of rows) {
    const base = r.baseline ? byScenario.get(r.baseline) : undefined;
    const ratio = base ? `${(r.rps / base.rps).toFixed(2)} of ${base.scenario}` : '';
    lines.push([r.scenario, String(r.rps), String(r.p50), String(r.p99), String(r.errors), ratio]);
  }
  const widths = lines[0].map((_, c) => Math.max(...lines.map((l) => l[c].length)));
  for (const [i, l] of lines.entries()) {
    console.log(l.map((cell, c) => (c === 0 || c === 5 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  say(`jkbalancer bench: node ${process.version}, ${duration}s per scenario`);
  const ports = await startBackends(['node1', 'node2', 'node3']);
  const workers = [
    'worker.list=lb',
    'worker.lb.type=lb',
    'worker.lb.balance_workers=node1,node2,node3',
    ...Object.entries(ports).flatMap(([n, p]) => [`worker.${n}.type=http`, `worker.${n}.host=127.0.0.1`, `worker.${n}.port=${p}`]),
  ].join('\n');
  const lbPort = await startBalancerProcess('http', workers);

  rows.push(await measure('direct: one backend', 'node:http backend', `http://127.0.0.1:${ports.node1}/app/`));
  const direct = 'direct: one backend';
  rows.push({ ...(await measure('balancer: session-less', '3 backends', `http://127.0.0.1:${lbPort}/app/`)), baseline: direct });
  rows.push({ ...(await measure('balancer: sticky', '3 backends', `http://127.0.0.1:${lbPort}/app/`, { cookie: 'JSESSIONID=ABC123.node2' })), baseline: direct });

  if (!flag('no-tomcat')) {
    if (existsSync('/usr/share/tomcat10/bin/catalina.sh')) rows.push(...(await tomcatRows({ measure, startBalancerProcess, say })));
    else say('  (Tomcat 10 not installed: skipping the Tomcat HTTP/AJP rows)');
  }

  if (json) console.log(JSON.stringify({ node: process.version, duration, connections, rows }, null, 2));
  else printTable(rows);
}

function cleanup(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
}

main()
  .catch((err) => {
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    cleanup();
    await (await import('./tomcat-rows.js')).stopTomcats();
  });
