/**
 * The running balancer: configuration → farm → listener, plus reload (SIGHUP) and graceful stop.
 * The CLI (`jkbalancer start`, `demo`) and the integration tests drive this same class.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/index.js';
import type { StatusConfig } from '../config/model.js';
import { DrainRegistry } from '../routing/drain.js';
import type { Clock } from '../routing/types.js';
import { buildFarm, type Farm, type StatusHandler } from './farm.js';
import { NO_OBSERVER, type RequestObserver } from '../routing/observer.js';
import { DEFAULT_LIMITS, type ListenerLimits } from './limits.js';
import type { ForwardUriMode } from './request-target.js';
import { createProxyServer } from './server.js';
import { createTransport } from './transports/index.js';
import type { Transport, TransportFactory } from './transport.js';

export interface AppOptions {
  readonly workersFile: string;
  readonly mountsFile?: string;
  readonly lenient?: boolean;
  readonly listenHost: string;
  readonly listenPort: number;
  /** What one client may hold on the listener; DEFAULT_LIMITS when absent. */
  readonly limits?: ListenerLimits;
  /** Sticky sessions per member (drain progress); one of its own when absent. */
  readonly drains?: DrainRegistry;
  /** How the request URI reaches members (default 'proxy', as mod_jk's ForwardURIProxy). */
  readonly forwardUri?: ForwardUriMode;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly transportFactory?: TransportFactory;
  readonly observer?: RequestObserver;
  /** Builds the handler of a status worker; it reads the app's current farm on every request. */
  readonly statusFactory?: (cfg: StatusConfig, app: BalancerApp) => StatusHandler;
  /** Called with every new farm before it serves (start and reload): re-apply persisted state here. */
  readonly prepareFarm?: (farm: Farm, app: BalancerApp) => void;
}

const systemClock: Clock = { now: () => Date.now() };

export type ReloadResult = { ok: true; warnings: number } | { ok: false; error: ConfigError | Error };

export class BalancerApp {
  farm!: Farm;
  readonly server: http.Server;
  readonly clock: Clock;
  readonly startTime: number;
  private maintenanceTimer: NodeJS.Timeout | null = null;
  private readonly retiring = new Set<Transport>();
  private listenPort: number;

  private constructor(
    readonly options: AppOptions,
    loaded: LoadedConfig,
  ) {
    this.clock = options.clock ?? systemClock;
    this.startTime = this.clock.now();
    this.listenPort = options.listenPort;
    this.swapIn(loaded);
    const self = this;
    this.server = createProxyServer(() => this.farm, {
      logger: options.logger,
      observer: options.observer ?? NO_OBSERVER,
      limits: options.limits ?? DEFAULT_LIMITS,
      forwardUri: options.forwardUri ?? 'proxy',
      drains: options.drains ?? new DrainRegistry(),
      get listenPort() {
        return self.listenPort;
      },
    });
  }

  /** Loads the configuration (throws ConfigError with every problem) and builds the farm. */
  static create(options: AppOptions): BalancerApp {
    const loaded = loadConfig({ workersFile: options.workersFile, mountsFile: options.mountsFile, lenient: options.lenient });
    for (const w of loaded.warnings) options.logger.warn({ file: w.file, line: w.line, directive: w.directive }, w.message);
    return new BalancerApp(options, loaded);
  }

  get logger(): Logger {
    return this.options.logger;
  }

  private swapIn(loaded: LoadedConfig): void {
    const { farm, retired } = buildFarm(
      loaded,
      {
        clock: this.clock,
        transportFactory: this.options.transportFactory ?? createTransport,
        statusFactory: (cfg) => {
          if (!this.options.statusFactory) throw new Error(`status worker '${cfg.name}' needs a status factory`);
          return this.options.statusFactory(cfg, this);
        },
      },
      this.farm ?? null,
    );
    this.options.prepareFarm?.(farm, this);
    this.farm = farm; // one assignment: requests already running keep the farm they started with
    for (const t of retired) this.retire(t);
  }

  /** Close a transport the new farm no longer uses, once its in-flight requests had time to finish. */
  private retire(t: Transport): void {
    this.retiring.add(t);
    const timer = setTimeout(() => {
      this.retiring.delete(t);
      void t.close();
    }, 30_000);
    timer.unref();
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.listenPort, this.options.listenHost, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    this.listenPort = addr.port;
    this.startMaintenance();
    return addr;
  }

  /**
   * Like mod_jk's watchdog: run maintenance on a timer too, so an idle balancer still recovers
   * members and closes idle connections (request-driven maintenance alone never would).
   */
  private startMaintenance(): void {
    const sec = this.farm.loaded.workers.maintainSec;
    if (sec <= 0) return;
    this.maintenanceTimer = setInterval(() => {
      const now = this.clock.now();
      for (const e of this.farm.entries.values()) {
        if (e.kind !== 'lb') continue;
        e.balancer.maintain();
        for (const t of e.transports) t.maintain(now);
      }
    }, sec * 1000);
    this.maintenanceTimer.unref();
  }

  /**
   * Copy each member's open-connection count from its transport into the runtime state the status
   * worker shows (connected, max_connected). Sampled on reads and every second, not per request.
   */
  refreshConnections(): void {
    for (const e of this.farm.entries.values()) {
      if (e.kind !== 'lb') continue;
      for (let i = 0; i < e.transports.length; i++) {
        const m = e.balancer.members[i];
        m.connected = e.transports[i].connected;
        if (m.connected > m.maxConnected) m.maxConnected = m.connected;
      }
    }
  }

  /** Re-read both files; an invalid config is refused and the current one keeps serving. */
  reload(): ReloadResult {
    let loaded: LoadedConfig;
    try {
      loaded = loadConfig({ workersFile: this.options.workersFile, mountsFile: this.options.mountsFile, lenient: this.options.lenient });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.logger.error({ errors: err instanceof ConfigError ? err.issues.map((i) => `${i.file}:${i.line}: ${i.directive}: ${i.message}`) : [error.message] }, 'reload refused: the new configuration is invalid; the old one keeps serving');
      return { ok: false, error };
    }
    for (const w of loaded.warnings) this.logger.warn({ file: w.file, line: w.line, directive: w.directive }, w.message);
    this.swapIn(loaded);
    this.logger.info(summary(this.farm), 'configuration reloaded');
    return { ok: true, warnings: loaded.warnings.length };
  }

  /** Stop accepting, let in-flight requests finish (up to timeoutMs), close every pool. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Keep-alive connections become idle as their last request ends: close them as they do.
    const sweep = setInterval(() => this.server.closeIdleConnections(), 50);
    this.server.closeIdleConnections();
    const timer = setTimeout(() => this.server.closeAllConnections(), timeoutMs);
    await closed;
    clearInterval(sweep);
    clearTimeout(timer);
    const transports = new Set([...this.farm.transports(), ...this.retiring]);
    this.retiring.clear();
    await Promise.allSettled([...transports].map((t) => t.close()));
  }
}

/** The effective configuration in one log line. */
export function summary(farm: Farm): object {
  const workers: Record<string, unknown> = {};
  for (const e of farm.entries.values()) {
    if (e.kind === 'status') workers[e.name] = { type: 'status' };
    else
      workers[e.name] = {
        type: e.standalone ? e.balancer.members[0].config.type : 'lb',
        method: e.balancer.lb.config.method,
        sticky: e.balancer.lb.stickySession,
        members: e.balancer.members.map((m) => `${m.name}=${m.config.type}://${m.host}:${m.port} route=${m.route} f=${m.lbfactor} d=${m.distance} ${['ACT', 'DIS', 'STP'][m.activation]}`),
      };
  }
  return { workers, mounts: farm.loaded.mounts.rules.length, maintain: farm.loaded.workers.maintainSec };
}
