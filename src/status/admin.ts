/**
 * The one way runtime state changes after start: `AdminState.commit`. The status worker's update,
 * reset and recover, and the drain policy hand it AdminOps; it applies them through the gate of
 * the current balancers, logs every setting that changed, records the persisted ones in the state
 * file, and then tells whoever else holds a copy of the state (the worker processes of a
 * `--processes` balancer: `replicate`) and waits for them. Nobody else writes live settings.
 *
 * With a shared store (`--state-redis`: `shared`), a setting is not applied here first: commit
 * hands it to the store, which writes it with a new version and brings it back, in the store's
 * order, through `applyShared` — on this instance and on every other. A store that cannot take the
 * change refuses it: it is then applied nowhere. Resets and recovers stay local (counters and error
 * states are each instance's own).
 */
import type { Balancer } from '../routing/balancer.js';
import { applyOp, type AdminOp, type SettingChange } from '../routing/admin-ops.js';
import { LB_ATTRIBUTES, MEMBER_ATTRIBUTES, type AttrValue } from '../routing/attributes.js';
import type { StateStore } from './persist.js';

export type { AdminOp, SettingChange } from '../routing/admin-ops.js';

/** Who or what made a change: the log says it, and so does the answer's audit. */
export interface Actor {
  readonly source: AuditSource;
  readonly user: string | null;
  readonly remote: string | undefined;
  /** The balancer instance the change was made on, when it came through the shared store. */
  readonly instance?: string;
}

/** How many audit entries are kept (in memory and in the state file); the oldest go first. */
export const AUDIT_LIMIT = 500;

/**
 * One entry of the audit trail: a setting that changed (`field`, `old` → `new`), or a reset or
 * recover (`field` 'reset' / 'recover', `old` and `new` null). Newest last.
 */
/**
 * Where an audited change came from: the status worker, the drain policy, the state file at start
 * ('restore'), a re-read workers file ('reload'), or another instance through the shared store
 * ('redis', also a resync). The one list: the state file and the Redis messages are checked against it.
 */
export const AUDIT_SOURCES = ['status', 'drain', 'restore', 'reload', 'redis'] as const;
export type AuditSource = (typeof AUDIT_SOURCES)[number];

export interface AuditEntry {
  /** ms since the epoch. */
  readonly time: number;
  readonly source: Actor['source'];
  readonly user: string | null;
  readonly remote: string | null;
  readonly lb: string;
  readonly member: string | null;
  readonly field: string;
  readonly old: AttrValue | null;
  readonly new: AttrValue | null;
  /** The instance the change was made on (changes shared through Redis only). */
  readonly instance?: string;
}

export interface AdminLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** What the other copies of the state did with a change (none: one process). */
export interface ReplicaReport {
  /** Copies that did not confirm the change in time, by name (e.g. `process 2 (pid 4711)`). */
  readonly laggards: readonly string[];
}

export type Replicate = (ops: readonly AdminOp[]) => Promise<ReplicaReport>;

export interface CommitResult {
  /** Every op applied (false: the list stopped at one that did not apply, or the store refused it). */
  readonly complete: boolean;
  readonly changes: readonly SettingChange[];
  /**
   * The answer is an error with this message: applied but not confirmed by every process or not
   * saved, or refused by the shared store (then applied nowhere).
   */
  readonly warning: string | null;
  /** The shared store's version of the lb's state this change produced (null: no shared store). */
  readonly version: number | null;
}

/**
 * A shared store of the admin state (app/redis-state.ts). `write` stores set ops of one lb with a
 * new version and resolves once this instance applied them in the store's order (through
 * AdminState.applyShared); it rejects, having written nothing, when the store cannot take them.
 */
export interface SharedStore {
  write(lb: string, ops: readonly SetOp[], actor: Actor): Promise<CommitResult>;
}

export type SetOp = Extract<AdminOp, { kind: 'set' }>;

/** What apply() did: the ops applied, the settings they changed and their audit entries. */
interface Applied {
  readonly failed: boolean;
  readonly ops: readonly AdminOp[];
  readonly changes: readonly SettingChange[];
  readonly entries: readonly AuditEntry[];
}

/** Every live setting of some balancers, by lb, member ('' for the lb's own) and field: what a reload is compared with. */
export type LiveSettings = ReadonlyMap<string, AttrValue>;

const settingKey = (lb: string, member: string | null, field: string) => `${lb}\0${member ?? ''}\0${field}`;

export function liveSettings(balancers: ReadonlyMap<string, Balancer>): LiveSettings {
  const out = new Map<string, AttrValue>();
  for (const [lb, b] of balancers) {
    for (const a of LB_ATTRIBUTES) out.set(settingKey(lb, null, a.key), a.current(b.lb));
    for (const m of b.members) for (const a of MEMBER_ATTRIBUTES) out.set(settingKey(lb, m.name, a.key), a.current(m));
  }
  return out;
}

export class AdminState {
  /** Set by a primary process: forwards every applied op list to the workers and waits for them. */
  replicate: Replicate | null = null;
  /** Set with --state-redis: settings go through the shared store, which every instance applies. */
  shared: SharedStore | null = null;

  private readonly trail: AuditEntry[] = [];

  constructor(
    private readonly balancers: () => ReadonlyMap<string, Balancer>,
    private readonly store: StateStore | null,
    private readonly logger: AdminLogger,
    private readonly now: () => number = Date.now,
  ) {
    // The trail saved with the state file survives a restart.
    if (store !== null) this.addAudit(store.state.audit ?? []);
  }

  /** The audit trail, oldest first, at most AUDIT_LIMIT entries. */
  get audit(): readonly AuditEntry[] {
    return this.trail;
  }

  /** Adds entries (e.g. source 'restore' from applyState) and drops the oldest beyond AUDIT_LIMIT. */
  addAudit(entries: readonly AuditEntry[]): void {
    this.trail.push(...entries);
    if (this.trail.length > AUDIT_LIMIT) this.trail.splice(0, this.trail.length - AUDIT_LIMIT);
    this.store?.recordAudit(this.trail);
  }

  /**
   * A reload took new files: every setting of an lb or member that existed before and whose value
   * the files changed is an audit entry of source 'reload' (saved with the state file). Settings
   * changed live keep their value across a reload (Balancer.carryOver), so they are not among them.
   */
  async auditReload(before: LiveSettings): Promise<void> {
    const entries: AuditEntry[] = [];
    const time = this.now();
    const entry = (lb: string, member: string | null, field: string, value: AttrValue) => {
      const old = before.get(settingKey(lb, member, field));
      if (old === undefined || old === value) return;
      entries.push({ time, source: 'reload', user: null, remote: null, lb, member, field, old, new: value });
      this.logger.info({ source: 'reload', lb, member, field, old, new: value }, 'status change');
    };
    for (const [lb, b] of this.balancers()) {
      for (const a of LB_ATTRIBUTES) entry(lb, null, a.key, a.current(b.lb));
      for (const m of b.members) for (const a of MEMBER_ATTRIBUTES) entry(lb, m.name, a.key, a.current(m));
    }
    if (entries.length === 0) return;
    this.addAudit(entries);
    await this.persist([], true);
  }

  /**
   * Applies `ops` in order. An op that does not apply (a recover of a member that is not in error)
   * stops the list there: what came before stays applied, as in mod_jk. The result carries a
   * warning when the change is applied but not everywhere or not saved, or refused by the shared
   * store. With a shared store, set ops (all of one lb, as one status request makes them) go
   * through the store; the rest is applied here.
   */
  async commit(ops: readonly AdminOp[], actor: Actor): Promise<CommitResult> {
    const sets = ops.filter((op): op is SetOp => op.kind === 'set');
    if (this.shared === null || sets.length === 0) return this.finish(this.apply(ops, actor, true));
    const lb = sets[0].lb;
    if (sets.length !== ops.length || sets.some((op) => op.lb !== lb)) {
      // No caller mixes them; refusing keeps "all or nothing" true should one start to.
      return { complete: false, changes: [], warning: 'Change refused: settings of one balancer only, without reset or recover, go to the shared state at once', version: null };
    }
    try {
      return await this.shared.write(lb, sets, actor);
    } catch (e) {
      const why = (e as Error).message;
      // The drain policy asks again every second and logs a refusal once itself.
      if (actor.source !== 'drain') this.logger.warn({ source: actor.source, user: actor.user, remote: actor.remote, lb, ops: sets.length, err: why }, 'status change refused: shared state unavailable');
      return { complete: false, changes: [], warning: `Change refused, applied on no instance: ${why}`, version: null };
    }
  }

  /**
   * A change from the shared store (this instance's own or another's, or a resync), in the store's
   * order: applied at once, then logged, saved and replicated like a commit. Every op is tried
   * (one that does not apply here, e.g. a member this configuration lacks, is skipped).
   */
  applyShared(ops: readonly AdminOp[], actor: Actor, version: number): Promise<CommitResult> {
    return this.finish(this.apply(ops, actor, false), version);
  }

  private apply(ops: readonly AdminOp[], actor: Actor, stopAtFailure: boolean): Applied {
    const balancers = this.balancers();
    const changes: SettingChange[] = [];
    const applied: AdminOp[] = [];
    let failed = false;
    for (const op of ops) {
      const r = applyOp(balancers, op);
      if (!r.ok) {
        failed = true;
        if (stopAtFailure) break;
        continue;
      }
      applied.push(op);
      changes.push(...r.changes);
    }
    const time = this.now();
    const who = { time, source: actor.source, user: actor.user, remote: actor.remote ?? null, ...(actor.instance === undefined ? {} : { instance: actor.instance }) };
    const entries: AuditEntry[] = [];
    for (const op of applied) {
      if (op.kind === 'set') continue;
      entries.push({ ...who, lb: op.lb, member: op.member, field: op.kind, old: null, new: null });
    }
    for (const c of changes) {
      entries.push({ ...who, lb: c.lb, member: c.member, field: c.key, old: c.old, new: c.value });
      this.logger.info({ source: actor.source, user: actor.user, remote: actor.remote, instance: actor.instance, lb: c.lb, member: c.member, field: c.key, old: c.old, new: c.value }, 'status change');
    }
    if (entries.length > 0) this.addAudit(entries);
    return { failed, ops: applied, changes, entries };
  }

  /** Replicates to the worker processes and saves the state file; the warnings for the answer. */
  private async finish(a: Applied, version: number | null = null): Promise<CommitResult> {
    const warnings: string[] = [];
    if (this.replicate !== null && a.ops.length > 0) {
      const report = await this.replicate(a.ops);
      if (report.laggards.length > 0) {
        this.logger.warn({ laggards: report.laggards, ops: a.ops.length }, 'change not confirmed by every process');
        warnings.push(`Update applied, but not confirmed in time by ${report.laggards.join(', ')}`);
      }
    }
    const saveError = await this.persist(a.changes, a.entries.length > 0);
    // Only the audit entry of a reset or recover unsaved: logged (persist), not an error answer.
    if (saveError !== null && a.changes.some((c) => c.persisted)) warnings.push(`Update applied but not saved to the state file: ${saveError}`);
    return { complete: !a.failed, changes: a.changes, warning: warnings.length ? warnings.join('; ') : null, version };
  }

  private async persist(changes: readonly SettingChange[], audited: boolean): Promise<string | null> {
    const store = this.store;
    if (store === null) return null;
    // A new audit entry is saved too (the trail goes with the state file).
    let any = audited;
    for (const c of changes) {
      if (!c.persisted) continue;
      any = true;
      if (c.member !== null) store.recordMember(c.lb, c.member, c.key, c.value, c.config);
      else store.recordLb(c.lb, c.key, c.value, c.config);
    }
    if (!any) return null;
    try {
      await store.save();
      return null;
    } catch (e) {
      this.logger.warn({ err: (e as Error).message, path: store.path }, 'status change not persisted');
      return (e as Error).message;
    }
  }
}
