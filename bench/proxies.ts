/**
 * The processes the bench measures, each on the proxy CPU: the bare forwarder and jkbalancer, the
 * latter started exactly as `jkbalancer start` runs in production — request log at info into a
 * file (its stdout), metrics on with their own listener, no state file (and, for one row, the
 * admin state in Redis).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROXY_CPU, ROOT, firstJsonLine, freePort, onCleanup, spawnOn, waitForPort } from './procs.js';

export interface ProxyProcess {
  readonly pid: number;
  readonly port: number;
  /** A clean exit (which is when node writes a --cpu-prof profile). */
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

export interface Member {
  readonly name: string;
  readonly type: 'http' | 'ajp13';
  readonly port: number;
}

const tmp = mkdtempSync(join(tmpdir(), 'jkb-bench-'));
onCleanup(() => rmSync(tmp, { recursive: true, force: true }));

/** A self-signed certificate for 127.0.0.1 (made once, with openssl) for the TLS row. */
export function benchCertificate(): { certFile: string; keyFile: string } {
  const certFile = join(tmp, 'bench-cert.pem');
  const keyFile = join(tmp, 'bench-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { certFile, keyFile };
}

/** Node with `args`, run by `wrap` (a command and its arguments, e.g. valgrind) when there is one. */
function nodeCommand(wrap: readonly string[], args: string[]): [string, string[]] {
  return wrap.length === 0 ? [process.execPath, args] : [wrap[0], [...wrap.slice(1), process.execPath, ...args]];
}

/**
 * The bare undici-dispatch forwarder in front of `backends` (route → port on 127.0.0.1); `nodeFlags`
 * e.g. --cpu-prof; `wrap` a command that runs node (valgrind).
 */
export async function startBare(backends: Record<string, number>, nodeFlags: string[] = [], wrap: readonly string[] = []): Promise<ProxyProcess> {
  const args = Object.entries(backends).map(([route, port]) => `${route}=127.0.0.1:${port}`);
  // stdin stays a pipe: the forwarder exits when it closes, even if the bench is killed outright.
  const child = spawnOn(PROXY_CPU, ...nodeCommand(wrap, [...nodeFlags, join(ROOT, 'dist/bench/forwarder.js'), ...args]), { stdio: ['pipe', 'pipe', wrap.length > 0 ? 'ignore' : 'inherit'] });
  const { port } = await firstJsonLine<{ port: number }>(child, 'bare forwarder');
  return {
    pid: child.pid!,
    port,
    stop: () => {
      child.stdin!.end();
      return exited(child);
    },
  };
}

/**
 * `jkbalancer start` with one lb worker `lb` over `members`, mounted on /*; `nodeFlags` e.g.
 * --cpu-prof. `processes` > 1 runs that many worker processes, not pinned (they use every core).
 */
export async function startJkbalancer(
  name: string,
  members: Member[],
  nodeFlags: string[] = [],
  processes = 1,
  pinned = true,
  extra: {
    /** Serve HTTPS (HTTP/1.1) with this certificate instead of plain HTTP. */
    readonly tls?: { certFile: string; keyFile: string };
    /** Share the admin state through this Redis (--state-redis). */
    readonly stateRedis?: string;
    /** A command that runs node (valgrind): the process is then much slower to start. */
    readonly wrap?: readonly string[];
  } = {},
): Promise<ProxyProcess> {
  const { tls, stateRedis, wrap = [] } = extra;
  const workers = [
    'worker.list=lb',
    'worker.lb.type=lb',
    `worker.lb.balance_workers=${members.map((m) => m.name).join(',')}`,
    ...members.flatMap((m) => [`worker.${m.name}.type=${m.type}`, `worker.${m.name}.host=127.0.0.1`, `worker.${m.name}.port=${m.port}`]),
  ].join('\n');
  const workersFile = join(tmp, `${name}.workers.properties`);
  const mountsFile = join(tmp, `${name}.uriworkermap.properties`);
  const logFile = join(tmp, `${name}.log`);
  writeFileSync(workersFile, `${workers}\n`);
  writeFileSync(mountsFile, '/*=lb\n');
  const port = await freePort();
  const metricsPort = await freePort();
  const log = openSync(logFile, 'a');
  const args = [
    ...nodeFlags,
    join(ROOT, 'bin/jkbalancer.js'), 'start',
    '--workers', workersFile,
    '--mounts', mountsFile,
    ...(tls ? ['--listen-tls', `127.0.0.1:${port}`, '--tls-cert', tls.certFile, '--tls-key', tls.keyFile] : ['--listen', `127.0.0.1:${port}`]),
    '--metrics-listen', `127.0.0.1:${metricsPort}`,
    '--log-level', 'info',
    '--no-persist',
    '--processes', String(processes),
    ...(stateRedis ? ['--state-redis', stateRedis] : []),
  ];
  const child = spawnOn(pinned ? PROXY_CPU : null, ...nodeCommand(wrap, args), { stdio: ['ignore', log, wrap.length > 0 ? 'ignore' : 'inherit'] });
  closeSync(log);
  await Promise.race([
    waitForPort(port, wrap.length > 0 ? 180_000 : 20_000),
    new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`jkbalancer ${name} exited (code ${code}); its log: ${logFile}`)))),
  ]);
  return {
    pid: child.pid!,
    port,
    stop: () => {
      child.kill('SIGTERM'); // jkbalancer's graceful stop
      return exited(child);
    },
  };
}
