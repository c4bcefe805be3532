/**
 * The status worker inside the whole product (`launch`, as `jkbalancer start` runs it), for the
 * tests that need what the harness leaves out: the listener's path normalisation, the
 * StatusContext that start.ts builds from the options, state restored at start. Requests go out
 * through node:http so a test can send any Host header and any raw request path.
 */
import type http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { StartOptions } from '../../src/cli/options.js';
import { createLogger } from '../../src/proxy/log.js';
import { launch } from '../../src/app/start.js';
import { rawGet } from '../helpers/http-client.js';

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface Product {
  readonly port: number;
  readonly dir: string;
  /** Every log line, parsed. */
  readonly logs: Record<string, unknown>[];
  /** GET `path` exactly as given; `host` defaults to 127.0.0.1:<port>. */
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  /** What SIGHUP does: re-read the files in `dir` (true when the new configuration was taken). */
  reload(): boolean;
  close(): Promise<void>;
}

export interface ProductFiles {
  readonly workers: string;
  readonly mounts: string;
  /** Written to `state.json` in the product's directory before the start, when given. */
  readonly state?: object;
}

export async function startProductWith(files: ProductFiles, options: Partial<StartOptions> = {}): Promise<Product> {
  const dir = mkdtempSync(join(tmpdir(), 'jkstatus-product-'));
  const workersFile = join(dir, 'workers.properties');
  const mountsFile = join(dir, 'uriworkermap.properties');
  const stateFile = join(dir, 'state.json');
  writeFileSync(workersFile, files.workers);
  writeFileSync(mountsFile, files.mounts);
  if (files.state) writeFileSync(stateFile, JSON.stringify(files.state));
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const running = await launch(
    {
      workersFile,
      mountsFile,
      listenHost: '127.0.0.1',
      listenPort: 0,
      logLevel: 'info',
      lenient: false,
      stateFile,
      shutdownTimeoutMs: 2000,
      ...options,
    },
    createLogger('info', sink),
  );
  const port = running.address.port;
  return {
    port,
    dir,
    logs,
    get(path, headers = {}) {
      return rawGet('127.0.0.1', port, path, { host: `127.0.0.1:${port}`, ...headers });
    },
    reload: () => running.reload(),
    async close() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** workers.properties: an lb of http members on 127.0.0.1 (name → port) and a status worker. */
export function farmWithStatus(members: Record<string, number>): string {
  const names = Object.keys(members);
  const lines = ['worker.list=lb,jkstatus', 'worker.lb.type=lb', `worker.lb.balance_workers=${names.join(',')}`, 'worker.jkstatus.type=status'];
  for (const n of names) lines.push(`worker.${n}.type=http`, `worker.${n}.host=127.0.0.1`, `worker.${n}.port=${members[n]}`);
  return `${lines.join('\n')}\n`;
}

export const STATUS_MOUNTS = '/app/*=lb\n/jkstatus=jkstatus\n/jkstatus/*=jkstatus\n';
