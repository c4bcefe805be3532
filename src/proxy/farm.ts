/**
 * A farm is everything built from one configuration: a Balancer and its transports per lb worker,
 * the status workers, and the mount map. A reload builds a new farm, carries the runtime state over
 * by worker and member name (Balancer.carryOver, through the gate), and swaps it in with one
 * assignment.
 */
import { LB_DEFAULTS, type LoadedConfig } from '../config/index.js';
import type { LbConfig, MemberConfig, StandaloneConfig, StatusConfig } from '../config/model.js';
import { Balancer } from '../routing/balancer.js';
import type { Clock } from '../routing/types.js';
import type { LbTarget } from './forward.js';
import type { Transport, TransportFactory } from './transport.js';

export interface LbEntry extends LbTarget {
  readonly kind: 'lb';
  /** A standalone ajp13/http worker of worker.list, served as a single-member balancer. */
  readonly standalone: boolean;
}

export interface StatusHandler {
  handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void;
}

export interface StatusEntry {
  readonly kind: 'status';
  readonly name: string;
  readonly handler: StatusHandler;
}

export type FarmEntry = LbEntry | StatusEntry;

export interface FarmDeps {
  readonly clock: Clock;
  readonly transportFactory: TransportFactory;
  readonly statusFactory: (cfg: StatusConfig) => StatusHandler;
}

export class Farm {
  constructor(
    readonly loaded: LoadedConfig,
    readonly entries: ReadonlyMap<string, FarmEntry>,
    /** Real lb workers only (standalone workers are not balancers for the status worker). */
    readonly balancers: ReadonlyMap<string, Balancer>,
  ) {}

  transports(): Transport[] {
    const out: Transport[] = [];
    for (const e of this.entries.values()) if (e.kind === 'lb') out.push(...e.transports);
    return out;
  }
}

/** Minimum replay buffer for HTTP members: mod_jk keeps one AJP packet; a request head-sized body is more useful. */
const MIN_REPLAY_BYTES = 64 * 1024;

/** mod_jk maps straight to an ajp13 worker too; we serve it through a one-member lb with mod_jk's lb defaults. */
function standaloneLb(w: StandaloneConfig): LbConfig {
  return { ...LB_DEFAULTS, name: w.name, type: 'lb', members: [w], secret: w.secret, mounts: w.mounts, source_ref: w.source_ref };
}

/**
 * Connection settings that need a new transport when they change (of a member's live configuration,
 * MemberRuntime.transportConfig: what its transport was built from).
 */
function transportKey(m: MemberConfig): string {
  return JSON.stringify([
    m.type, m.host, m.port, m.tls, m.source, m.socketTimeoutSec, m.socketConnectTimeoutMs, m.socketKeepalive,
    m.connectionPoolSize, m.connectionPoolMinsize, m.connectionPoolTimeoutSec, m.connectionAcquireTimeoutMs,
    m.ping, m.maxPacketSize, m.secret,
  ]);
}

export interface BuiltFarm {
  readonly farm: Farm;
  /** Transports of the previous farm that the new one does not use (close them when idle). */
  readonly retired: Transport[];
}

export function buildFarm(loaded: LoadedConfig, deps: FarmDeps, previous: Farm | null): BuiltFarm {
  const reusable = new Map<string, Transport>();
  if (previous) for (const t of previous.transports()) reusable.set(`${t.member.name}\0${transportKey(t.member)}`, t);
  const used = new Set<Transport>();

  const entries = new Map<string, FarmEntry>();
  const balancers = new Map<string, Balancer>();
  for (const name of loaded.workers.list) {
    const w = loaded.workers.workers.get(name);
    if (!w) continue;
    if (w.type === 'status') {
      entries.set(name, { kind: 'status', name, handler: deps.statusFactory(w) });
      continue;
    }
    const standalone = w.type !== 'lb';
    const cfg = standalone ? standaloneLb(w as StandaloneConfig) : (w as LbConfig);
    const balancer = new Balancer(cfg, { maintainSec: loaded.workers.maintainSec, clock: deps.clock });
    const prev = previous?.entries.get(name);
    if (prev?.kind === 'lb') balancer.carryOver(prev.balancer);
    // Built from the live settings (carried over above), so a live change survives the reload.
    const transports = balancer.members.map((m) => {
      const live = m.transportConfig;
      const key = `${m.name}\0${transportKey(live)}`;
      const old = reusable.get(key);
      if (old && !used.has(old)) {
        used.add(old);
        return old;
      }
      return deps.transportFactory(live);
    });
    const replayLimit = Math.max(MIN_REPLAY_BYTES, ...cfg.members.map((m) => m.maxPacketSize));
    entries.set(name, { kind: 'lb', name, balancer, transports, replayLimit, standalone, createTransport: deps.transportFactory });
    if (!standalone) balancers.set(name, balancer);
  }
  const retired = previous ? previous.transports().filter((t) => !used.has(t)) : [];
  return { farm: new Farm(loaded, entries, balancers), retired };
}
