/**
 * Prometheus metrics of one BalancerApp: its own prom-client Registry (never the global one, so
 * several apps can run in one process), the request observer the data path feeds, and an HTTP
 * handler serving the text exposition.
 *
 * Wiring: create once per app, before BalancerApp.create, and pass `observer` as AppOptions.observer;
 * mount `handle` where metrics are served; call `recordReload` with every reload's outcome.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { sendOwnReply } from '../http/own-replies.js';
import type { RequestObserver } from '../routing/observer.js';
import type { Balancer } from '../routing/balancer.js';
import type { DrainRegistry } from '../routing/drain.js';
import type { Clock } from '../routing/types.js';
import { Accumulators } from './accumulators.js';
import { registerFamilies } from './families.js';
import { CountsTaker, type IntervalCounts } from './interval-counts.js';

export interface MetricsOptions {
  /** The lbs to measure, read at every scrape and on first sight of an lb/member (e.g. `() => app.farm.balancers`). */
  readonly getBalancers: () => ReadonlyMap<string, Balancer>;
  /** Drain progress, shared with the status worker and the drain policy. */
  readonly drains: DrainRegistry;
  readonly clock: Clock;
}

export interface Metrics {
  readonly observer: RequestObserver;
  readonly registry: Registry;
  /** Serves the text exposition (GET/HEAD; anything else 405). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  recordReload(ok: boolean): void;
  /** What the observer counted since the previous call (the history's input; one taker per process). */
  takeCounts(): IntervalCounts;
}

export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'jkbalancer_' });
  const acc = new Accumulators(opts.getBalancers);
  const reloads = registerFamilies({ registry, acc, getBalancers: opts.getBalancers, drains: opts.drains, clock: opts.clock });
  const counts = new CountsTaker(acc);

  return {
    observer: acc,
    registry,
    handle(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendOwnReply(res, 'JKB_METHOD_NOT_ALLOWED', { headers: { allow: 'GET, HEAD' } });
        return;
      }
      acc.prune();
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => {
          if (res.headersSent) return void res.destroy();
          sendOwnReply(res, 'JKB_INTERNAL', { detail: `metrics collection failed: ${err instanceof Error ? err.message : String(err)}` });
        },
      );
    },
    recordReload(ok) {
      reloads.inc({ result: ok ? 'success' : 'failure' });
    },
    takeCounts: () => counts.take(),
  };
}
