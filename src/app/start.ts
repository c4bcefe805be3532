/**
 * `jkbalancer start`: assembles the running product — configuration, balancer app, status worker
 * (with its page and /metrics), persistence of live changes, drain policy, metrics listener — and
 * owns the process signals (SIGHUP reload, SIGTERM/SIGINT graceful stop).
 */
import { renameSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { StartOptions } from './start-options.js';
import { ConfigError, formatIssue } from '../config/index.js';
import type { StatusConfig } from '../config/model.js';
import { createMetrics, type Metrics } from '../metrics/index.js';
import { DEFAULT_HISTORY_INTERVAL_MS, History } from '../metrics/history.js';
import type { IntervalCounts } from '../metrics/interval-counts.js';
import { DrainRegistry, dueDrains, drainExtras } from '../routing/drain.js';
import { AdminState, StateStore, applyState, createStatusWorker, liveSettings, loadCredentials, type Credentials, type StatusContext } from '../status/index.js';
import { servePage } from '../status/page.js';
import { BalancerApp, summary } from '../proxy/app.js';
import type { Farm, StatusHandler } from '../proxy/farm.js';
import { sendOwnReply } from '../http/own-replies.js';
import { createLogger, flushLogs } from '../proxy/log.js';
import { isClusterWorker, startPrimary, startWorker } from './cluster.js';
import { RedisState } from './redis-state.js';

/**
 * What a process of a `--processes` balancer does differently (app/cluster.ts); absent for a
 * balancer in one process.
 */
export interface LaunchRole {
  /** The primary: status requests arrive from the workers with the client's address in a header. */
  readonly remoteAddress?: (req: IncomingMessage) => string | undefined;
  /** The port clients see (the primary's own listener is private). */
  readonly publicPort?: () => number;
  /** Runs before every status or metrics request is answered here (the primary sums the workers' counters). */
  readonly beforeStatus?: () => Promise<void>;
  /** Replaces the local status worker (a worker forwards its status requests to the primary). */
  readonly statusHandler?: StatusHandler;
  /** Serves /metrics instead of this process's registry (the primary aggregates the workers'). */
  readonly metricsHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Answers extra paths below the status mount (the primary's per-process view); true when it did. */
  readonly serveExtra?: (path: string, req: IncomingMessage, res: ServerResponse) => boolean;
  /** Every new farm, after the saved state is applied (a worker hooks its balancers up). */
  readonly prepareFarm?: (farm: Farm) => void;
  /** Whether this process runs the drain policy (one process does, for all). */
  readonly drainPolicy: boolean;
  /** Whether this process runs the members' active health checks (one process does, for all). */
  readonly healthChecks: boolean;
  /** Awaited after the farm is built, before the listener opens (a worker fetches the state). */
  readonly beforeListen?: () => Promise<void>;
  /** Listen with SO_REUSEPORT (a cluster worker, on a Node that has it). */
  readonly reusePort?: boolean;
  /**
   * Where each history sample's counts come from: absent, this process's own; a function, elsewhere
   * (the primary sums the workers'); null, nowhere (a worker: the primary keeps the history).
   */
  readonly historyCounts?: (() => Promise<IntervalCounts>) | null;
}

export interface Running {
  readonly app: BalancerApp;
  readonly admin: AdminState;
  readonly drains: DrainRegistry;
  readonly address: AddressInfo;
  /** Every listener's address, in the order given (address is the first). */
  readonly addresses: readonly AddressInfo[];
  readonly metricsAddress: AddressInfo | null;
  readonly logger: Logger;
  readonly metrics: Metrics;
  reload(): boolean;
  stop(): Promise<void>;
}

/** The path of a request below its status-worker mount ('/metrics', '/app.js', …). */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function openStore(stateFile: string | null, logger: Logger): StateStore | null {
  if (stateFile === null) return null;
  try {
    const { state, problems } = StateStore.load(stateFile);
    for (const p of problems) logger.warn({ stateFile, problem: p }, 'state file entry ignored');
    return new StateStore(stateFile, state);
  } catch (err) {
    // A corrupt state file must not keep the balancer down, nor be lost: keep it aside for the
    // operator and start from the workers file.
    const kept = `${stateFile}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    let where = kept;
    try {
      renameSync(stateFile, kept);
    } catch (renameErr) {
      where = `not moved (${(renameErr as Error).message}); the next live change overwrites it`;
    }
    logger.error({ stateFile, keptAs: where, err: (err as Error).message }, 'state file refused; starting from the workers file only');
    return new StateStore(stateFile);
  }
}

/** Starts everything and resolves once the listeners accept connections. */
export async function launch(options: StartOptions, logger: Logger = createLogger(options.logLevel), role: LaunchRole | null = null): Promise<Running> {
  const credentials: Credentials | null = options.credentialsFile ? loadCredentials(options.credentialsFile) : null;
  const store = openStore(options.stateFile, logger);
  const drains = new DrainRegistry();
  const clock = { now: () => Date.now() };
  let app: BalancerApp | null = null;
  const metrics = createMetrics({ getBalancers: () => app?.farm.balancers ?? new Map(), drains, clock });

  const memberExtras = drainExtras(drains, clock);
  const history = new History(options.historyIntervalMs ?? DEFAULT_HISTORY_INTERVAL_MS, clock.now());
  const historyCounts = role?.historyCounts === undefined ? async () => metrics.takeCounts() : role.historyCounts;
  const admin = new AdminState(() => app?.farm.balancers ?? new Map(), store, logger);
  // The port clients reach this instance on names it among the instances sharing a Redis.
  const ownPort = () => role?.publicPort?.() ?? (app?.server.address() as AddressInfo | null)?.port ?? options.listenPort;
  const shared = options.stateRedis
    ? new RedisState({ url: options.stateRedis, logger, admin, balancers: () => app?.farm.balancers ?? new Map(), drains, instance: () => `${hostname()}:${ownPort()}` })
    : null;
  admin.shared = shared;
  const statusContext = (a: BalancerApp): StatusContext => ({
    workers: a.farm.loaded.workers,
    mounts: a.farm.loaded.mounts,
    balancers: a.farm.balancers,
    serverName: options.listenHost,
    serverPort: role?.publicPort?.() ?? (a.server.address() ? (a.server.address() as AddressInfo).port : options.listenPort),
    ownNames: [options.listenHost, ...(options.serverNames ?? [])],
    startTime: a.startTime,
    admin,
    logger,
    credentials,
    getMemberExtras: memberExtras,
    getHistory: (lb, member, sinceMs) => history.toJson(a.farm.balancers, { lb, member, sinceMs }, clock.now()),
    remoteAddress: role?.remoteAddress,
    ...(shared ? { sharedState: () => shared.view() } : {}),
  });

  const serveMetrics = role?.metricsHandler ?? metrics.handle;
  const statusFactory = (cfg: StatusConfig, a: BalancerApp): StatusHandler => {
    if (role?.statusHandler) return role.statusHandler;
    const worker = createStatusWorker(cfg, () => statusContext(a));
    // A status worker restricted to users must not publish its data unauthenticated next door.
    const metricsHere = cfg.users.length === 0;
    const answer = (req: IncomingMessage, res: ServerResponse): void => {
      a.refreshConnections();
      const path = pathOf(req);
      if (role?.serveExtra?.(path, req, res)) return;
      if (path.endsWith('/metrics')) {
        if (metricsHere) return serveMetrics(req, res);
        // A status worker with a user list does not publish metrics: use --metrics-listen.
        sendOwnReply(res, 'JKB_NOT_FOUND', { detail: 'this status worker has a user list and serves no metrics; use --metrics-listen' });
        return;
      }
      if (servePage(req, res)) return;
      worker.handle(req, res);
    };
    const before = role?.beforeStatus;
    if (!before) return { handle: answer };
    return {
      handle(req: IncomingMessage, res: ServerResponse) {
        before().then(
          () => answer(req, res),
          () => answer(req, res),
        );
      },
    };
  };

  const prepareFarm = (farm: Farm): void => {
    if (store) {
      applyState(store.state, farm.balancers, logger, (r) =>
        admin.addAudit([{ time: Date.now(), source: 'restore', user: null, remote: null, ...r }]),
      );
    }
    drains.prune(farm.balancers.values());
    history.prune(farm.balancers);
    role?.prepareFarm?.(farm);
    // A reload built new balancers from the files: Redis has the last word on their settings.
    shared?.refresh('configuration reloaded');
  };

  /**
   * Drain policy: stop disabled members whose sticky traffic has ended or whose deadline passed.
   * The stop applies only while the member is still disabled (`expect`): with a shared state the
   * instances that reach the same decision write it once, the others find it taken.
   */
  const stopping = new Set<string>();
  /** Why a due stop was last refused, per member: logged once per reason, not every second. */
  const refusedWhy = new Map<string, string>();
  const finishDrains = (farm: Farm): void => {
    const now = clock.now();
    for (const b of farm.balancers.values()) {
      for (const move of dueDrains(b, drains, now)) {
        const key = `${move.lb}\0${move.member}`;
        if (stopping.has(key)) continue;
        stopping.add(key);
        const op = { kind: 'set', lb: move.lb, member: move.member, key: 'activation', value: 'STP', expect: 'DIS' } as const;
        void admin
          .commit([op], { source: 'drain', user: null, remote: undefined })
          .then((r) => {
            const refused = r.changes.length === 0 && r.warning !== null;
            if (refused && refusedWhy.get(key) !== r.warning) logger.warn({ ...move, err: r.warning }, `drain policy could not stop member '${move.member}' of '${move.lb}'; trying again every second`);
            if (refused) refusedWhy.set(key, r.warning!);
            else refusedWhy.delete(key);
            if (r.changes.length > 0) logger.info({ ...move, version: r.version }, `drain finished: member '${move.member}' of '${move.lb}' stopped (${move.reason})`);
            else if (!refused) logger.debug(move, 'drain policy: the member was no longer disabled (another instance stopped it, or an operator changed it)');
          })
          .finally(() => stopping.delete(key));
      }
    }
  };

  try {
    app = BalancerApp.create({
      workersFile: options.workersFile,
      mountsFile: options.mountsFile,
      lenient: options.lenient,
      listenHost: options.listenHost,
      listenPort: options.listenPort,
      listeners: options.listeners,
      tls: options.tls,
      redirectHttps: options.redirectHttps,
      limits: options.limits,
      forwardUri: options.forwardUri,
      drains,
      logger,
      clock,
      observer: metrics.observer,
      statusFactory,
      prepareFarm,
      healthChecks: role === null || role.healthChecks,
    });
  } catch (err) {
    if (err instanceof ConfigError) logger.fatal({ errors: err.issues.filter((i) => i.severity === 'error').map(formatIssue) }, 'configuration refused');
    throw err;
  }
  const running = app;
  // The shared state before the first request: Redis's, or the state file's if Redis is not there.
  if (shared) await shared.start();
  if (role?.beforeListen) await role.beforeListen();
  const address = await running.listen(role?.reusePort ?? false);
  // Drain deadlines are in seconds; a 1 s check (and connection sampling) is a loop over the members.
  const drainTimer = setInterval(() => {
    if (role === null || role.drainPolicy) finishDrains(running.farm);
    running.refreshConnections();
    if (historyCounts !== null) history.noteChanges(clock.now(), running.farm.balancers);
  }, 1000);
  drainTimer.unref();
  // One history sample per interval, from counts the accumulators already keep: no per-request work.
  let historyTimer: NodeJS.Timeout | null = null;
  if (historyCounts !== null) {
    let sampling = false;
    historyTimer = setInterval(() => {
      // A primary still waiting for its workers skips a beat: the next sample covers both intervals.
      if (sampling) return;
      sampling = true;
      historyCounts()
        .then(
          (counts) => history.record(clock.now(), running.farm.balancers, counts, drains),
          (err: Error) => logger.warn({ err: err.message }, 'history sample lost'),
        )
        .finally(() => (sampling = false));
    }, history.intervalMs);
    historyTimer.unref();
  }

  let metricsServer: http.Server | null = null;
  let metricsAddress: AddressInfo | null = null;
  if (options.metricsPort !== undefined) {
    metricsServer = http.createServer((req, res) => {
      if (pathOf(req) === '/metrics') serveMetrics(req, res);
      else {
        sendOwnReply(res, 'JKB_NOT_FOUND', { detail: 'metrics are served at /metrics' });
      }
    });
    await new Promise<void>((resolve, reject) => {
      metricsServer!.once('error', reject);
      metricsServer!.listen(options.metricsPort, options.metricsHost ?? '127.0.0.1', () => resolve());
    });
    metricsAddress = metricsServer.address() as AddressInfo;
  }
  const listen = running.addresses.map((a, i) => `${running.listeners[i].address.tls ? 'https://' : ''}${a.address}:${a.port}`).join(', ');
  logger.info({ listen, metrics: metricsAddress ? `${metricsAddress.address}:${metricsAddress.port}` : null, stateFile: options.stateFile, stateRedis: shared?.store ?? null, ...summary(running.farm) }, role ? 'process started' : 'jkbalancer started');

  return {
    app: running,
    admin,
    drains,
    address,
    addresses: running.addresses,
    metricsAddress,
    logger,
    metrics,
    reload() {
      const before = role?.statusHandler === undefined ? liveSettings(running.farm.balancers) : null;
      const result = running.reload();
      metrics.recordReload(result.ok);
      if (result.ok) {
        // What the new files changed goes to the audit trail of the process whose status worker
        // answers (a --processes worker forwards its status requests: the primary keeps the trail).
        if (before !== null) void admin.auditReload(before);
        if (historyCounts !== null) history.noteChanges(clock.now(), running.farm.balancers);
      }
      // Certificates are renewed on their own schedule: reloaded whether or not the files were valid.
      running.reloadTls();
      return result.ok;
    },
    async stop() {
      clearInterval(drainTimer);
      if (historyTimer !== null) clearInterval(historyTimer);
      await running.stop(options.shutdownTimeoutMs);
      await shared?.stop();
      if (metricsServer) await new Promise<void>((r) => metricsServer!.close(() => r()));
    },
  };
}

/** The CLI entry: launch, then live until SIGTERM/SIGINT; SIGHUP reloads. */
export async function start(options: StartOptions): Promise<void> {
  const processes = options.processes ?? 1;
  if (isClusterWorker()) return startWorker(options);
  if (processes > 1) return startPrimary(options, processes);
  const logger = createLogger(options.logLevel);
  let running: Running;
  try {
    running = await launch(options, logger);
  } catch (err) {
    if (!(err instanceof ConfigError)) logger.fatal({ err: (err as Error).message }, 'could not start');
    await flushLogs(logger);
    process.exitCode = 1;
    return;
  }
  process.on('SIGHUP', () => {
    // Lines logged under the old configuration go out before the reload's own.
    void flushLogs(logger);
    logger.info('SIGHUP: reloading the configuration');
    running.reload();
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, timeoutMs: options.shutdownTimeoutMs }, 'stopping: no new connections, finishing in-flight requests');
    running.stop().then(
      async () => {
        logger.info('stopped');
        await flushLogs(logger);
        process.exit(0);
      },
      async (err: Error) => {
        logger.error({ err: err.message }, 'error while stopping');
        await flushLogs(logger);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
