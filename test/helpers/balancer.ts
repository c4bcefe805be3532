/** Starts a real balancer on 127.0.0.1 with configuration files written to a temp dir. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { BalancerApp, type AppOptions } from '../../src/proxy/app.js';
import { createLogger } from '../../src/proxy/log.js';
import { launch } from '../../src/app/start.js';

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

interface Setup {
  dir: string;
  workersFile: string;
  mountsFile: string;
  logs: Record<string, unknown>[];
  logger: Logger;
}

/** Config files in a fresh temp dir, and an info-level logger whose lines the test can read. */
function setUp(workers: string, mounts: string): Setup {
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
  return { dir, workersFile, mountsFile, logs, logger: createLogger('info', sink) };
}

function handle(s: Setup, app: BalancerApp, port: number, stop: () => Promise<void>): TestBalancer {
  return {
    app,
    port,
    dir: s.dir,
    workersFile: s.workersFile,
    mountsFile: s.mountsFile,
    logs: s.logs,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    async close() {
      await stop();
      rmSync(s.dir, { recursive: true, force: true });
    },
  };
}

/** The data path alone (BalancerApp): no status worker unless `extra.statusFactory` is given. */
export async function startBalancer(workers: string, mounts: string, extra: Partial<AppOptions> = {}): Promise<TestBalancer> {
  const s = setUp(workers, mounts);
  const app = BalancerApp.create({
    workersFile: s.workersFile,
    mountsFile: s.mountsFile,
    listenHost: '127.0.0.1',
    listenPort: 0,
    logger: s.logger,
    ...extra,
  });
  const addr = await app.listen();
  return handle(s, app, addr.port, () => app.stop(2000));
}

/**
 * The whole product as `jkbalancer start` assembles it (status worker with page and /metrics,
 * drain policy, metrics observer), without persistence.
 */
export async function startProduct(workers: string, mounts: string): Promise<TestBalancer> {
  const s = setUp(workers, mounts);
  const running = await launch(
    { workersFile: s.workersFile, mountsFile: s.mountsFile, listenHost: '127.0.0.1', listenPort: 0, logLevel: 'info', lenient: false, stateFile: null, shutdownTimeoutMs: 2000 },
    s.logger,
  );
  return handle(s, running.app, running.address.port, () => running.stop());
}

/** workers.properties for an lb of http members on 127.0.0.1 (name → port), plus extra lines. */
export function httpFarm(members: Record<string, number>, extra = ''): string {
  const names = Object.keys(members);
  const lines = ['worker.list=lb', 'worker.lb.type=lb', `worker.lb.balance_workers=${names.join(',')}`];
  for (const n of names) lines.push(`worker.${n}.type=http`, `worker.${n}.host=127.0.0.1`, `worker.${n}.port=${members[n]}`);
  return `${lines.join('\n')}\n${extra}\n`;
}
