/**
 * What `jkbalancer start` runs with, whoever parsed it (the CLI's options.ts, a test): the
 * composition root's input. No defaults are filled in here.
 */
import type { TlsOptions } from '../proxy/app.js';
import type { ListenerLimits } from '../proxy/limits.js';
import type { ListenAddress } from '../proxy/listener.js';
import type { ForwardUriMode } from '../proxy/request-target.js';
import type { LogLevel } from '../proxy/log.js';

export interface StartOptions {
  readonly workersFile: string;
  /** undefined: only `worker.<name>.mount` patterns map URIs. */
  readonly mountsFile?: string;
  /** The first listener's address: the status worker's own name and port. */
  readonly listenHost: string;
  readonly listenPort: number;
  /** Every address to serve on, plain and TLS; absent: plain HTTP on listenHost:listenPort alone. */
  readonly listeners?: readonly ListenAddress[];
  /** Certificate, key and protocols of the TLS listeners. */
  readonly tls?: TlsOptions;
  /** Plain listeners answer every request with a redirect to the first TLS listener. */
  readonly redirectHttps?: boolean;
  readonly logLevel: LogLevel;
  readonly lenient: boolean;
  /** Where live changes (status worker updates) are persisted; null = do not persist. */
  readonly stateFile: string | null;
  /** Credentials for the status worker's access control. */
  readonly credentialsFile?: string;
  /** Separate listener for /metrics; both undefined = no separate listener. */
  readonly metricsHost?: string;
  readonly metricsPort?: number;
  /** Grace period for in-flight requests on SIGTERM/SIGINT. */
  readonly shutdownTimeoutMs: number;
  /** How the request URI reaches members (mod_jk's JkOptions ForwardURI*); 'proxy' when absent. */
  readonly forwardUri?: ForwardUriMode;
  /** What one client may hold on the listener (time, connections); DEFAULT_LIMITS when absent. */
  readonly limits?: ListenerLimits;
  /**
   * Host names the balancer answers to besides loopback names and the listen address; the status
   * worker changes state only for requests addressed to one of them (DNS rebinding).
   */
  readonly serverNames?: readonly string[];
  /** Worker processes serving traffic (app/cluster.ts); 1 or absent: this process alone. */
  readonly processes?: number;
  /** One history sample per this many ms (HISTORY_SLOTS are kept); DEFAULT_HISTORY_INTERVAL_MS when absent. */
  readonly historyIntervalMs?: number;
  /**
   * `redis://host:port/db`: the admin state is shared with every instance using the same Redis
   * (app/redis-state.ts); absent: this instance's own (the state file alone).
   */
  readonly stateRedis?: string;
}
