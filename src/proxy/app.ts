/**
 * The running balancer: configuration → farm → listener, plus reload (SIGHUP) and graceful stop.
 * The CLI (`jkbalancer start`, `demo`) and the integration tests drive this same class.
 */
import type { AddressInfo, Server } from 'node:net';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/index.js';
import type { StatusConfig } from '../config/model.js';
import { DrainRegistry } from '../routing/drain.js';
import type { Clock } from '../routing/types.js';
import { buildFarm, type Farm, type StatusHandler } from './farm.js';
import type { ProxyEnv } from './forward.js';
import { NO_OBSERVER, type RequestObserver } from '../routing/observer.js';
import { DEFAULT_LIMITS, type ListenerLimits } from './limits.js';
import type { ForwardUriMode } from './request-target.js';
import { HealthChecker } from './health-check.js';
import { http1Listener, type ListenAddress, type Listener } from './listener.js';
import { createRedirectListener } from './redirect.js';
import { createProxyServer } from './server.js';
import { loadTlsMaterial, type TlsFiles } from './tls-context.js';
import { createTlsListener } from './tls-server.js';
import { createTransport } from './transports/index.js';
import type { Transport, TransportFactory } from './transport.js';

export interface AppOptions {
  readonly workersFile: string;
  readonly mountsFile?: string;
  readonly lenient?: boolean;
  readonly listenHost: string;
  readonly listenPort: number;
  /** Every address to serve on; absent: plain HTTP on listenHost:listenPort alone. */
  readonly listeners?: readonly ListenAddress[];
  /** Certificate and key of the TLS listeners, and what they speak; needed by any `tls` listener. */
  readonly tls?: TlsOptions;
  /** The plain listeners redirect every request to the first TLS listener instead of proxying it. */
  readonly redirectHttps?: boolean;
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
  /** Run the members' active health checks here (default true; false where another process runs them). */
  readonly healthChecks?: boolean;
}

export interface TlsOptions {
  readonly files: TlsFiles;
  /** HTTP/2 (ALPN h2) besides HTTP/1.1 on the TLS listeners. */
  readonly http2: boolean;
  /** Requests one HTTP/2 connection may have open at once. */
  readonly http2MaxStreams: number;
}

/** The data path's environment for one listener: the port is the one its requests came to. */
class ListenerEnv implements ProxyEnv {
  listenPort: number;
  constructor(
    readonly logger: Logger,
    readonly observer: RequestObserver,
    readonly limits: ListenerLimits,
    readonly forwardUri: ForwardUriMode,
    readonly drains: DrainRegistry,
    port: number,
  ) {
    this.listenPort = port;
  }
}

const systemClock: Clock = { now: () => Date.now() };

export type ReloadResult = { ok: true; warnings: number } | { ok: false; error: ConfigError | Error };

export class BalancerApp {
  farm!: Farm;
  /** Every listener, in the order given; `server` is the first one's. */
  readonly listeners: readonly Listener[];
  readonly server: Server;
  readonly clock: Clock;
  readonly startTime: number;
  private maintenanceTimer: NodeJS.Timeout | null = null;
  /** The current farm's health checks; they start with listen(). */
  private checker: HealthChecker | null = null;
  private checking = false;
  private readonly retiring = new Set<Transport>();
  private readonly envs: ListenerEnv[] = [];
  private readonly drains: DrainRegistry;

  private constructor(
    readonly options: AppOptions,
    loaded: LoadedConfig,
  ) {
    this.clock = options.clock ?? systemClock;
    this.startTime = this.clock.now();
    this.drains = options.drains ?? new DrainRegistry();
    this.swapIn(loaded);
    this.listeners = this.createListeners();
    this.server = this.listeners[0].server;
  }

  private createListeners(): Listener[] {
    const o = this.options;
    const addresses = o.listeners ?? [{ host: o.listenHost, port: o.listenPort, tls: false }];
    const firstTls = addresses.findIndex((a) => a.tls);
    // Read and checked before anything listens: a bad certificate stops the start.
    const material = firstTls >= 0 ? loadTlsMaterial(this.tlsOptions().files) : null;
    const getFarm = () => this.farm;
    return addresses.map((address, i) => {
      const env = new ListenerEnv(o.logger, o.observer ?? NO_OBSERVER, o.limits ?? DEFAULT_LIMITS, o.forwardUri ?? 'proxy', this.drains, address.port);
      this.envs[i] = env;
      if (address.tls) return createTlsListener(address, getFarm, env, { ...this.tlsOptions(), material: material! });
      if (o.redirectHttps && firstTls >= 0) return createRedirectListener(address, env, { host: addresses[firstTls].host, port: () => this.envs[firstTls].listenPort });
      return http1Listener(address, createProxyServer(getFarm, env));
    });
  }

  private tlsOptions(): TlsOptions {
    if (!this.options.tls) throw new Error('a TLS listener needs a certificate and key');
    return this.options.tls;
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
    // The old farm's checks stop (a result in flight is dropped); the new farm's are built from its configuration.
    this.checker?.stop();
    this.checker = this.options.healthChecks === false ? null : new HealthChecker(farm.balancers, this.logger);
    if (this.checking) this.checker?.start();
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

  /**
   * Opens every listener (all or none: one that cannot listen closes the others); the first one's
   * address. `reusePort`: each process of a cluster binds its own socket to a fixed port and the
   * kernel spreads connections over them (SO_REUSEPORT), instead of the primary accepting them all.
   */
  async listen(reusePort = false): Promise<AddressInfo> {
    const opened: Listener[] = [];
    try {
      for (const l of this.listeners) {
        await new Promise<void>((resolve, reject) => {
          l.server.once('error', reject);
          // Port 0 would give every process a port of its own: that one stays shared through the primary.
          l.server.listen({ port: l.address.port, host: l.address.host, ...(reusePort && l.address.port !== 0 ? { reusePort } : {}) }, () => {
            l.server.off('error', reject);
            resolve();
          });
        });
        opened.push(l);
      }
    } catch (err) {
      await Promise.all(opened.map((l) => new Promise<void>((r) => l.server.close(() => r()))));
      throw err;
    }
    this.listeners.forEach((l, i) => (this.envs[i].listenPort = (l.server.address() as AddressInfo).port));
    this.startMaintenance();
    this.checking = true;
    this.checker?.start();
    return this.server.address() as AddressInfo;
  }

  /** Where each listener listens, in the order given. */
  get addresses(): AddressInfo[] {
    return this.listeners.map((l) => l.server.address() as AddressInfo);
  }

  /**
   * SIGHUP: read the certificate and key files again and serve new TLS connections with them; open
   * connections keep theirs. Files that do not load, or a key that is not the certificate's, are
   * refused and logged, and the old ones keep serving. True when there was nothing to reload.
   */
  reloadTls(): boolean {
    const tls = this.listeners.filter((l) => l.useTlsMaterial !== undefined);
    if (tls.length === 0) return true;
    const files = this.tlsOptions().files;
    let material;
    try {
      material = loadTlsMaterial(files);
    } catch (err) {
      this.logger.error({ err: (err as Error).message, cert: files.certFile, key: files.keyFile }, 'TLS reload refused: the old certificate and key keep serving');
      return false;
    }
    for (const l of tls) l.useTlsMaterial!(material);
    this.logger.info({ cert: files.certFile, key: files.keyFile }, 'TLS certificate and key reloaded');
    return true;
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
    this.checking = false;
    this.checker?.stop();
    const closed = Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => l.server.close(() => resolve()))));
    // Keep-alive connections become idle as their last request ends: close them as they do.
    const closeIdle = () => {
      for (const l of this.listeners) l.closeIdle();
    };
    const sweep = setInterval(closeIdle, 50);
    closeIdle();
    const timer = setTimeout(() => {
      for (const l of this.listeners) l.closeAll();
    }, timeoutMs);
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
