/**
 * `--state-redis redis://host:port/db`: several balancer instances share their admin state through
 * Redis (README "Several instances"; the layout is in redis-schema.ts).
 *
 * - A status change (AdminState.commit) is written to Redis first, atomically with the lb's next
 *   version, and published; this instance and every other apply it when it comes back on the
 *   channel, in version order, through AdminState.applyShared (the gate). The answer waits for this
 *   instance's own apply and names the version. Last writer by version wins, everywhere alike.
 * - Pub/sub loses what is published while a subscriber is away, so an instance takes the whole
 *   state from Redis (a resync) at start, after every reconnect, when a version arrives out of
 *   order and every RESYNC_EVERY_MS. A resync older than what this instance has applied is dropped;
 *   a new epoch (Redis lost its data and was seeded again) is taken whatever its version.
 * - An lb Redis holds nothing of (first start, or Redis lost its data) is seeded with this
 *   instance's state, once, whoever comes first.
 * - Link down: this instance serves its last known state, refuses changes (applied nowhere), and
 *   keeps reconnecting; the status page shows it. Redis unreachable at start: the local state file's
 *   state, after START_WAIT_MS. Error states, counters and lb values never leave the instance.
 *
 * Nothing on a request's path touches Redis: only status changes, timers and the channel do.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import { domainOfRoute } from '../config/values.js';
import type { Balancer } from '../routing/balancer.js';
import type { DrainRegistry } from '../routing/drain.js';
import type { Actor, AdminState, CommitResult, SetOp, SharedStore } from '../status/admin.js';
import type { SharedStateView } from '../status/report.js';
import { DRAIN_SHARE_MS, SharedDrains } from './redis-drains.js';
import {
  CHANNEL, SEED_SCRIPT, WRITE_SCRIPT, configuredOf, epochKey, hashKeyOf, lbKey, memberKey, opsOfSnapshot, overridesOf, parseChange, sharedOp,
  versionKey, type ChangePayload, type LbSnapshot,
} from './redis-schema.js';

/** The longest pause between two connection attempts. */
const RECONNECT_MAX_MS = 1000;
const CONNECT_TIMEOUT_MS = 2000;
/** How long a write may take before the change is answered as refused. */
const WRITE_TIMEOUT_MS = 2000;
/** How long a written change may take to come back on the channel before a resync fetches it. */
const APPLY_WAIT_MS = 1000;
/** The periodic resync: what pub/sub lost without anybody noticing a gap. */
export const RESYNC_EVERY_MS = 10_000;
/** How long start waits for Redis before serving from the local state file. */
export const START_WAIT_MS = 2000;

type Client = ReturnType<typeof createClient>;

export interface RedisStateOptions {
  readonly url: string;
  readonly logger: Logger;
  readonly admin: AdminState;
  readonly balancers: () => ReadonlyMap<string, Balancer>;
  readonly drains: DrainRegistry;
  /** This instance's name (host:port), once it listens. */
  readonly instance: () => string;
}

/** What this instance has applied of one lb's shared state. */
interface Synced {
  version: number;
  epoch: string;
}

/** A write waiting for this instance to apply it. */
interface Waiter {
  readonly lb: string;
  /** Known once Redis answered the write. */
  version: number | null;
  resolve(r: Promise<CommitResult> | CommitResult): void;
  timer: NodeJS.Timeout | null;
}

/** The URL without credentials: what the logs and the status page show. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}

/**
 * The gate derives an empty domain from a new route; the write says so explicitly, so that a
 * resync, which applies what Redis holds, reaches the domain the change reached.
 */
function withDerivedDomain(b: Balancer, ops: readonly SetOp[]): SetOp[] {
  const out = [...ops];
  for (const op of ops) {
    if (op.key !== 'route' || op.member === null || ops.some((o) => o.member === op.member && o.key === 'domain')) continue;
    const m = b.memberByName(op.member);
    const derived = domainOfRoute(String(op.value));
    if (m !== undefined && m.domain === '' && derived !== '') out.push({ kind: 'set', lb: op.lb, member: op.member, key: 'domain', value: derived });
  }
  return out;
}

export class RedisState implements SharedStore {
  /** This process among the instances: tells its own published changes and drain sketches apart. */
  private readonly id = randomBytes(6).toString('hex');
  readonly store: string;
  private readonly cmd: Client;
  private readonly sub: Client;
  private readonly drains: SharedDrains;
  private readonly synced = new Map<string, Synced>();
  private readonly waiters = new Map<string, Waiter>();
  private up = false;
  private since = Date.now();
  private lastError: string | null = 'not connected yet';
  private subscribed = false;
  private resyncing: Promise<boolean> | null = null;
  private resyncAgain = false;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private firstUp: () => void = () => {};
  private readonly firstUpP = new Promise<void>((r) => (this.firstUp = r));

  constructor(private readonly o: RedisStateOptions) {
    this.store = redactedUrl(o.url);
    this.cmd = createClient({
      url: o.url,
      // A command while the link is down fails at once instead of waiting for a reconnect: a change is refused, not delayed.
      disableOfflineQueue: true,
      socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: (retries) => Math.min(100 * (retries + 1), RECONNECT_MAX_MS) },
    });
    this.sub = this.cmd.duplicate();
    for (const [c, name] of [[this.cmd, 'commands'], [this.sub, 'subscription']] as const) {
      c.on('error', (err: Error) => this.down(`${name}: ${err.message}`));
      c.on('ready', () => this.connected());
    }
    this.drains = new SharedDrains(this.cmd, o.drains, o.balancers, this.id, o.logger);
  }

  /** Connects; resolves once the state is taken from Redis, or after waitMs with the local state. */
  async start(waitMs = START_WAIT_MS): Promise<void> {
    const log = this.o.logger;
    log.info({ store: this.store }, 'shared state: connecting to Redis');
    this.cmd.connect().catch((err: Error) => log.debug({ err: err.message }, 'shared state: connect ended'));
    this.sub.connect().catch((err: Error) => log.debug({ err: err.message }, 'shared state: connect ended'));
    this.timers.push(
      setInterval(() => {
        // Down with both connections ready: the last resync failed (e.g. the keys hold something else); try again.
        if (this.up) void this.resync('periodic');
        else this.connected();
      }, RESYNC_EVERY_MS),
      setInterval(() => {
        if (this.up) void this.drains.share();
      }, DRAIN_SHARE_MS),
    );
    for (const t of this.timers) t.unref();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.firstUpP, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    if (!this.up) {
      log.warn({ store: this.store, err: this.lastError, waitedMs: waitMs }, 'shared state: Redis unreachable at start; serving the local state, refusing changes until the link is up');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const [nonce, w] of this.waiters) this.settle(nonce, w, { complete: false, changes: [], warning: 'Stopping: the change may have been stored in Redis but was not applied here', version: w.version });
    for (const c of [this.sub, this.cmd]) {
      try {
        c.destroy();
      } catch {
        /* already closed */
      }
    }
  }

  view(): SharedStateView {
    const versions: Record<string, number> = {};
    for (const lb of this.o.balancers().keys()) versions[lb] = this.synced.get(lb)?.version ?? 0;
    return { store: this.store, link: this.up ? 'up' : 'down', since: this.since, error: this.up ? null : this.lastError, instance: this.o.instance(), versions };
  }

  /** Another reason a full resync is due (a configuration reload built new balancers). */
  refresh(reason: string): void {
    if (this.up) void this.resync(reason);
  }

  // ------------------------------------------------------------------------------ link state

  private down(err: string): void {
    this.lastError = err;
    if (this.stopped) return;
    if (!this.up) {
      this.o.logger.debug({ store: this.store, err }, 'shared state: Redis still unreachable');
      return;
    }
    this.up = false;
    this.since = Date.now();
    this.o.logger.error({ store: this.store, err }, 'shared state: Redis link down; serving the last known state, refusing changes, reconnecting');
  }

  /** A connection is (again) ready: once both are and the channel is subscribed, take the state afresh. */
  private connected(): void {
    if (this.stopped || !this.cmd.isReady || !this.sub.isReady) return;
    if (!this.subscribed) {
      // After a reconnect the client subscribes again itself; the first time is ours.
      this.sub.subscribe(CHANNEL, (message) => this.onMessage(message)).then(
        () => {
          this.subscribed = true;
          this.connected();
        },
        (err: Error) => this.down(`subscribe: ${err.message}`),
      );
      return;
    }
    void this.resync('link up').then((ok) => {
      if (!ok || this.up || this.stopped || !this.cmd.isReady || !this.sub.isReady) return;
      this.up = true;
      this.since = Date.now();
      this.lastError = null;
      this.o.logger.info({ store: this.store, instance: this.o.instance(), versions: this.view().versions }, 'shared state: Redis link up; state taken from Redis');
      this.firstUp();
    });
  }

  private downMessage(): string {
    return `Redis ${this.store} unreachable since ${new Date(this.since).toISOString()}${this.lastError ? ` (${this.lastError})` : ''}`;
  }

  // ------------------------------------------------------------------------------ writes

  async write(lb: string, ops: readonly SetOp[], actor: Actor, seeded = false): Promise<CommitResult> {
    if (!this.up) throw new Error(this.downMessage());
    const b = this.o.balancers().get(lb);
    if (b === undefined || !this.synced.has(lb)) throw new Error(`balancer '${lb}' is not synchronised with Redis yet`);
    const all = withDerivedDomain(b, ops);
    const nonce = randomBytes(8).toString('hex');
    const payload: ChangePayload = {
      lb, id: this.id, instance: this.o.instance(), nonce, source: actor.source, user: actor.user, remote: actor.remote ?? null,
      ops: all.map((op) => ({ member: op.member, key: op.key, value: op.value })),
    };
    const keys = [versionKey(lb), epochKey(lb), ...all.map(hashKeyOf)];
    const args = [CHANNEL, JSON.stringify(payload)];
    for (const op of all) {
      const config = configuredOf(b, op);
      args.push(op.key, op.value === config ? '' : JSON.stringify(op.value), op.expect === undefined ? '' : JSON.stringify(op.expect), JSON.stringify(config ?? null));
    }
    const waiter: Waiter = { lb, version: null, resolve: () => {}, timer: null };
    const applied = new Promise<CommitResult>((resolve) => (waiter.resolve = resolve));
    // Registered before the write: the change may come back on the channel before the write's answer.
    this.waiters.set(nonce, waiter);
    let reply: [number, number];
    try {
      reply = (await this.cmd.withCommandOptions({ timeout: WRITE_TIMEOUT_MS }).eval(WRITE_SCRIPT, { keys, arguments: args })) as [number, number];
    } catch (err) {
      this.waiters.delete(nonce);
      const why = (err as Error).name === 'TimeoutError' || /timeout/i.test((err as Error).message)
        ? `Redis ${this.store} did not answer within ${WRITE_TIMEOUT_MS / 1000} s (the change may still have been stored: see the status page)`
        : `Redis ${this.store}: ${(err as Error).message}`;
      throw new Error(why);
    }
    const [status, version] = reply;
    if (status !== 1) this.waiters.delete(nonce);
    if (status === -1) {
      // Redis lost the lb's state since the last resync: seed it again, then write.
      if (seeded) throw new Error(`Redis ${this.store} holds no state of '${lb}' and seeding it failed`);
      await this.resync(`no state of '${lb}' in Redis`);
      return this.write(lb, ops, actor, true);
    }
    if (status === 0) {
      this.o.logger.info({ lb, version, ops: payload.ops, source: actor.source }, 'shared state: change not written, its condition no longer holds in Redis');
      return { complete: false, changes: [], warning: null, version };
    }
    this.o.logger.debug({ lb, version, ops: payload.ops.length }, 'shared state: change written');
    waiter.version = version;
    const s = this.synced.get(lb);
    // A resync after the write may have applied it already (its message then comes too late).
    if (s !== undefined && s.version >= version && this.waiters.has(nonce)) this.settle(nonce, waiter, { complete: true, changes: [], warning: null, version });
    else if (this.waiters.has(nonce)) waiter.timer = setTimeout(() => this.late(nonce), APPLY_WAIT_MS);
    return applied;
  }

  /** A written change did not come back in time: fetch the state instead. */
  private late(nonce: string): void {
    const w = this.waiters.get(nonce);
    if (w === undefined) return;
    this.o.logger.warn({ lb: w.lb, version: w.version }, 'shared state: own change not seen on the channel in time; resyncing');
    void this.resync('own change not seen').then(() => {
      if (!this.waiters.has(nonce)) return;
      this.settle(nonce, w, {
        complete: true, changes: [], version: w.version,
        warning: `Stored in Redis as version ${w.version}, but not yet applied on this instance (${this.lastError ?? 'no answer'}); it is applied from Redis once the link is back`,
      });
    });
  }

  private settle(nonce: string, w: Waiter, r: Promise<CommitResult> | CommitResult): void {
    if (w.timer !== null) clearTimeout(w.timer);
    this.waiters.delete(nonce);
    w.resolve(r);
  }

  // ------------------------------------------------------------------------------ changes in

  private onMessage(text: string): void {
    const msg = parseChange(text);
    if (msg === null) {
      this.o.logger.warn({ message: text.slice(0, 200) }, 'shared state: a message on the channel is not a change; ignored');
      return;
    }
    const p = msg.payload;
    const lb = p.lb;
    if (!this.o.balancers().has(lb)) return;
    const s = this.synced.get(lb);
    if (s === undefined || s.epoch !== msg.epoch || msg.version > s.version + 1) {
      void this.resync(`version ${msg.version} of '${lb}' after ${s?.version ?? 'none'}`);
      return;
    }
    // A resync brought it already.
    if (msg.version <= s.version) return;
    s.version = msg.version;
    const ops: SetOp[] = [];
    for (const o of p.ops) {
      const op = sharedOp(lb, o.member, o.key, o.value);
      if (op === null) this.o.logger.warn({ lb, member: o.member, field: o.key, value: o.value, instance: p.instance }, 'shared state: a shared value this instance refuses; skipped');
      else ops.push(op);
    }
    const own = p.id === this.id;
    const actor: Actor = { source: own ? p.source : 'redis', user: p.user, remote: p.remote ?? undefined, instance: p.instance };
    if (!own) this.o.logger.info({ lb, version: msg.version, instance: p.instance, ops: ops.length }, 'shared state: change from another instance');
    const result = this.o.admin.applyShared(ops, actor, msg.version);
    const w = this.waiters.get(p.nonce);
    if (w !== undefined) this.settle(p.nonce, w, result);
  }

  // ------------------------------------------------------------------------------ resync

  /** A full resync of every lb; one at a time, another asked for meanwhile runs right after. True when it read Redis. */
  resync(reason: string): Promise<boolean> {
    if (this.resyncing !== null) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      let ok = false;
      do {
        this.resyncAgain = false;
        ok = await this.resyncOnce(reason);
      } while (this.resyncAgain && !this.stopped);
      this.resyncing = null;
      return ok;
    })();
    return this.resyncing;
  }

  private async resyncOnce(reason: string): Promise<boolean> {
    const balancers = [...this.o.balancers().values()];
    try {
      let snaps = await this.read(balancers);
      const unseeded = balancers.filter((b) => snaps.get(b.lb.name) === null);
      if (unseeded.length > 0) {
        for (const b of unseeded) await this.seed(b);
        snaps = new Map([...snaps, ...(await this.read(unseeded))]);
      }
      for (const b of balancers) {
        const snap = snaps.get(b.lb.name);
        if (snap) this.take(b, snap, reason);
      }
      return true;
    } catch (err) {
      const why = (err as Error).message;
      this.o.logger.warn({ reason, err: why }, 'shared state: resync failed');
      if (!this.up) this.lastError = `resync failed: ${why}`;
      return false;
    }
  }

  /** Every lb's version, epoch and hashes, read at one instant (MULTI); null for an lb Redis holds nothing of. */
  private async read(balancers: readonly Balancer[]): Promise<Map<string, LbSnapshot | null>> {
    const multi = this.cmd.multi();
    for (const b of balancers) {
      const lb = b.lb.name;
      multi.get(versionKey(lb)).get(epochKey(lb)).hGetAll(lbKey(lb));
      for (const m of b.members) multi.hGetAll(memberKey(lb, m.name));
    }
    const replies = (await multi.exec()) as unknown[];
    const out = new Map<string, LbSnapshot | null>();
    let i = 0;
    for (const b of balancers) {
      const version = replies[i++] as string | null;
      const epoch = replies[i++] as string | null;
      const settings = replies[i++] as Record<string, string>;
      const members = new Map<string, Record<string, string>>();
      for (const m of b.members) members.set(m.name, replies[i++] as Record<string, string>);
      out.set(b.lb.name, version === null ? null : { version: Number(version), epoch: epoch ?? '-', settings, members });
    }
    return out;
  }

  /** Stores this instance's state of an lb Redis holds nothing of (unless another instance just did). */
  private async seed(b: Balancer): Promise<void> {
    const lb = b.lb.name;
    const overrides = overridesOf(b);
    const keys = [versionKey(lb), epochKey(lb), ...overrides.keys()];
    const args = [`${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`];
    [...overrides.values()].forEach((fields, i) => {
      for (const [field, value] of Object.entries(fields)) args.push(String(i + 3), field, value);
    });
    const seeded = (await this.cmd.eval(SEED_SCRIPT, { keys, arguments: args })) as number;
    if (seeded === 1) this.o.logger.info({ lb, store: this.store, settings: args.length === 1 ? 0 : (args.length - 1) / 3 }, 'shared state: Redis held no state of this balancer; seeded it with this instance\'s');
  }

  /** Applies a snapshot unless this instance has a newer version of the same epoch already. */
  private take(b: Balancer, snap: LbSnapshot, reason: string): void {
    const lb = b.lb.name;
    const s = this.synced.get(lb);
    if (s !== undefined && s.epoch === snap.epoch && snap.version < s.version) {
      this.o.logger.debug({ lb, read: snap.version, applied: s.version }, 'shared state: resync read older than the changes applied since; dropped');
      return;
    }
    const { ops, rejected } = opsOfSnapshot(b, snap);
    for (const r of rejected) this.o.logger.warn({ lb, value: r }, 'shared state: a value in Redis this instance refuses; keeping its own');
    this.synced.set(lb, { version: snap.version, epoch: snap.epoch });
    void this.o.admin.applyShared(ops, { source: 'redis', user: null, remote: undefined }, snap.version).then((r) => {
      const level = r.changes.length > 0 ? 'info' : 'debug';
      this.o.logger[level]({ lb, version: snap.version, reason, changes: r.changes.length }, 'shared state: resynced from Redis');
    });
    for (const [nonce, w] of this.waiters) {
      if (w.lb === lb && w.version !== null && w.version <= snap.version) this.settle(nonce, w, { complete: true, changes: [], warning: null, version: w.version });
    }
  }
}
