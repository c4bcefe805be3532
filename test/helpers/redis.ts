/**
 * A real redis-server (the Debian package's binary) on a free loopback port, without persistence,
 * for the tests of --state-redis. Missing binary: the tests skip with a visible message, except on
 * CI (CI=true), where they fail loudly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from './tomcat.js';

export const REDIS_SERVER = process.env.JK_TEST_REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: the server vanishes without a word, as a crashed one does. */
  kill(): Promise<void>;
  /** Start again on the same port (empty: nothing was saved). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Whether the redis tests should run (true on CI even when missing, so start fails the suite). */
export function redisTestsEnabled(): boolean {
  if (existsSync(REDIS_SERVER)) return true;
  if (process.env.CI === 'true') return true;
  console.warn(`\n*** SKIPPING redis tests: ${REDIS_SERVER} not found (apt-get install redis-server) ***\n`);
  return false;
}

/** Resolves once the port accepts a connection and answers PING. */
async function waitReady(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (const end = Date.now() + 10_000; ; ) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('error', () => resolve(false));
      s.once('connect', () => s.write('PING\r\n'));
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`redis-server on ${port} not ready after 10 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedis(): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing: the --state-redis tests cannot run (CI requires redis-server)`);
  const port = await freePort();
  let child: ChildProcess | null = null;
  let out = '';
  const launch = async () => {
    out = '';
    const c = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child = c;
    await waitReady(port, c, () => out);
  };
  const stop = async (signal: NodeJS.Signals) => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    await exited;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    kill: () => stop('SIGKILL'),
    restart: launch,
    close: () => stop('SIGKILL'),
  };
}
