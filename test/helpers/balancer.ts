/** Starts a real BalancerApp on 127.0.0.1 with configuration files written to a temp dir. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { BalancerApp, type AppOptions } from '../../src/proxy/app.js';
import { createLogger } from '../../src/proxy/log.js';
import { launch } from '../../src/proxy/start.js';

export interface TestBalancer {
  readonly app: BalancerApp;
  readonly port: number;
  readonly dir: string;
  readonly workersFile: string;
  readonly mountsFile: string;
  /** Every log line as parsed JSON. */
  readonly logs: Record<string, unknown>[];
  url(path: string): string;
  close(): Promise<void>;
}

export async function startBalancer(workers: string, mounts: string, extra: Partial<AppOptions> = {}): Promise<TestBalancer> {
  const dir = mkdtempSync(join(tmpdir(), 'jkb-test-'));
  const workersFile = join(dir, 'workers.properties');
  const mountsFile = join(dir, 'uriworkermap.properties');
  writeFileSync(workersFile, workers);
  writeFileSync(mountsFile, mounts);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const app = BalancerApp.create({
    workersFile,
    mountsFile,
    listenHost: '127.0.0.1',
    listenPort: 0,
    logger: createLogger('info', sink),
    ...extra,
  });
  const addr = await app.listen();
  return {
    app,
    port: addr.port,
    dir,
    workersFile,
    mountsFile,
    logs,
    url: (path: string) => `http://127.0.0.1:${addr.port}${path}`,
    async close() {
      await app.stop(2000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The whole product as `jkbalancer start` assembles it (status worker with page and /metrics,
 * drain policy, metrics observer), on files in a temp dir, without persistence.
 */
export async function startProduct(workers: string, mounts: string): Promise<TestBalancer> {
  const dir = mkdtempSync(join(tmpdir(), 'jkb-product-'));
  const workersFile = join(dir, 'workers.properties');
  const mountsFile = join(dir, 'uriworkermap.properties');
  writeFileSync(workersFile, workers);
  writeFileSync(mountsFile, mounts);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const running = await launch(
    { workersFile, mountsFile, listenHost: '127.0.0.1', listenPort: 0, logLevel: 'info', lenient: false, stateFile: null, shutdownTimeoutMs: 2000 },
    createLogger('info', sink),
  );
  const port = running.address.port;
  return {
    app: running.app,
    port,
    dir,
    workersFile,
    mountsFile,
    logs,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    async close() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** workers.properties for an lb of http members on 127.0.0.1 (name → port), plus extra lines. */
export function httpFarm(members: Record<string, number>, extra = ''): string {
  const names = Object.keys(members);
  const lines = ['worker.list=lb', 'worker.lb.type=lb', `worker.lb.balance_workers=${names.join(',')}`];
  for (const n of names) lines.push(`worker.${n}.type=http`, `worker.${n}.host=127.0.0.1`, `worker.${n}.port=${members[n]}`);
  return `${lines.join('\n')}\n${extra}\n`;
}
