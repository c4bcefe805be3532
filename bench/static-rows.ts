/**
 * The bench's rows on the static backends (backend.ts): direct to one backend, then the bare
 * forwarder and jkbalancer in front of all three, each session-less and sticky, jkbalancer
 * with clients on HTTPS (its TLS listener, HTTP/1.1 with keep-alive), and jkbalancer with its admin
 * state in Redis (--state-redis), when a redis-server is installed: nothing on a request's path
 * waits on Redis, so it should cost what the row without it costs.
 */
import { join } from 'node:path';
import { NODE_HAS_REUSE_PORT } from '../src/app/reuse-port.js';
import type { Target } from './measure.js';
import { LOAD_CPU, ROOT, firstJsonLine, spawnOn } from './procs.js';
import { benchCertificate, startBare, startJkbalancer } from './proxies.js';
import { startBenchRedis } from './redis.js';

export const ROUTES = ['node1', 'node2', 'node3'];
export const STICKY = 'JSESSIONID=ABC123.node2';

/** `unpinned`: on every core (for the `--processes` rows) instead of the load CPU. */
export async function startBackends(unpinned = false): Promise<Record<string, number>> {
  // stdin stays a pipe: the backends exit when it closes, even if the bench is killed outright.
  const child = spawnOn(unpinned ? null : LOAD_CPU, process.execPath, [join(ROOT, 'dist/bench/backend.js'), ...ROUTES], { stdio: ['pipe', 'pipe', 'inherit'] });
  return firstJsonLine<Record<string, number>>(child, 'bench backends');
}

export async function staticTargets(say: (msg: string) => void): Promise<Target[]> {
  const ports = await startBackends();
  const bare = await startBare(ports);
  const jkb = await startJkbalancer('static', ROUTES.map((name) => ({ name, type: 'http', port: ports[name] })));
  // All cores (--processes): one process and two, in front of backends of their own, with the load:
  // nothing pinned, every process sharing every core, as on a production box.
  const everyCore = await startBackends(true);
  const one = await startJkbalancer('static-p1', ROUTES.map((name) => ({ name, type: 'http', port: everyCore[name] })), [], 1, false);
  const two = await startJkbalancer('static-p2', ROUTES.map((name) => ({ name, type: 'http', port: everyCore[name] })), [], 2, false);
  // TLS on the client side (HTTP/1.1, keep-alive): the same members over plain HTTP behind it.
  const secure = await startJkbalancer('static-tls', ROUTES.map((name) => ({ name, type: 'http', port: ports[name] })), [], 1, true, { tls: benchCertificate() });
  const redisUrl = await startBenchRedis();
  if (redisUrl === null) say('no redis-server on PATH: the --state-redis rows are left out');
  const shared = redisUrl === null ? null : await startJkbalancer('static-redis', ROUTES.map((name) => ({ name, type: 'http', port: ports[name] })), [], 1, true, { stateRedis: redisUrl });
  const url = (port: number) => `http://127.0.0.1:${port}/app/`;
  // How the two workers get their connections on this Node (README "All cores"); run the bench under
  // another Node (`npx -p node@24 node dist/bench/bench.js`) to measure the other way.
  const accept = NODE_HAS_REUSE_PORT ? 'reuseport' : 'round-robin';
  const sharedRows: Target[] = shared === null ? [] : [
    { scenario: 'jkbalancer --state-redis: session-less', url: url(shared.port), proxyPid: shared.pid, bare: 'jkbalancer: session-less' },
    { scenario: 'jkbalancer --state-redis: sticky', url: url(shared.port), cookie: STICKY, proxyPid: shared.pid, bare: 'jkbalancer: sticky' },
  ];
  return [
    { scenario: 'direct: one backend', url: url(ports.node1) },
    { scenario: 'bare forwarder: session-less', url: url(bare.port), proxyPid: bare.pid },
    { scenario: 'bare forwarder: sticky', url: url(bare.port), cookie: STICKY, proxyPid: bare.pid },
    { scenario: 'jkbalancer: session-less', url: url(jkb.port), proxyPid: jkb.pid, bare: 'bare forwarder: session-less' },
    { scenario: 'jkbalancer: sticky', url: url(jkb.port), cookie: STICKY, proxyPid: jkb.pid, bare: 'bare forwarder: sticky' },
    ...sharedRows,
    { scenario: 'jkbalancer over TLS (HTTP/1.1): session-less', url: `https://127.0.0.1:${secure.port}/app/`, proxyPid: secure.pid, bare: 'bare forwarder: session-less' },
    { scenario: 'jkbalancer over TLS (HTTP/1.1): sticky', url: `https://127.0.0.1:${secure.port}/app/`, cookie: STICKY, proxyPid: secure.pid, bare: 'bare forwarder: sticky' },
    { scenario: 'jkbalancer --processes 1, every core: session-less', url: url(one.port), proxyPid: one.pid, unpinned: true },
    { scenario: `jkbalancer --processes 2 (${accept}), every core: session-less`, url: url(two.port), proxyPid: two.pid, bare: 'jkbalancer --processes 1, every core: session-less', unpinned: true },
  ];
}
