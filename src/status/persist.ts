/**
 * Persistence of live changes made through the status worker (mod_jk loses them on restart,
 * docs/status-worker.md#reset-and-recover).
 *
 * The state file holds, per balancer and member, only the fields that differ from the workers file:
 * `{ value, config }` — the value set at runtime and the workers-file value it replaced. When the
 * state is re-applied and the workers file no longer has that `config` value, the operator has
 * edited the file since: the file wins and the saved value is dropped (reported as a problem).
 *
 * Writes are atomic (temp file in the same directory, fsync, rename, fsync of the directory) and
 * serialised, so a crash leaves either the old or the new file, never a torn one.
 */
import { constants as fsConstants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Balancer } from '../routing/balancer.js';
import { AUDIT_SOURCES, type AuditEntry } from './admin.js';
import {
  checkStoredValue,
  LB_BY_KEY,
  MEMBER_ATTRIBUTES,
  MEMBER_BY_KEY,
  type AttrValue,
  type LbAttribute,
  type MemberAttribute,
} from '../routing/attributes.js';

export const STATE_VERSION = 1;

export interface SavedValue {
  readonly value: AttrValue;
  /** The workers-file value when the change was made. */
  readonly config: AttrValue;
}
export type SavedFields = Record<string, SavedValue>;
export interface SavedBalancer {
  settings: SavedFields;
  members: Record<string, SavedFields>;
}
export interface PersistedState {
  version: typeof STATE_VERSION;
  balancers: Record<string, SavedBalancer>;
  /** The audit trail (AdminState, newest last). Absent in files written before it existed. */
  audit?: AuditEntry[];
}

export interface StateLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const emptyState = (): PersistedState => ({ version: STATE_VERSION, balancers: {} });

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is AttrValue => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function readFields(raw: unknown, where: string, known: (key: string) => boolean, problems: string[]): SavedFields {
  const out: SavedFields = {};
  if (!isRecord(raw)) {
    problems.push(`${where}: not an object; ignored`);
    return out;
  }
  for (const [key, entry] of Object.entries(raw)) {
    if (!known(key)) problems.push(`${where}: unknown field '${key}'; ignored`);
    else if (!isRecord(entry) || !isScalar(entry.value) || !isScalar(entry.config)) {
      problems.push(`${where}.${key}: expected {"value", "config"}; ignored`);
    } else out[key] = { value: entry.value, config: entry.config };
  }
  return out;
}

const AUDIT_SOURCE_SET: ReadonlySet<unknown> = new Set(AUDIT_SOURCES);
const isNullable = <T>(v: unknown, test: (x: unknown) => x is T): v is T | null => v === null || test(v);
const isString = (v: unknown): v is string => typeof v === 'string';

/** One saved audit entry, or null when it is not one. */
function readAuditEntry(raw: unknown): AuditEntry | null {
  if (!isRecord(raw)) return null;
  const { time, source, user, remote, lb, member, field } = raw;
  const old = raw.old;
  const value = raw.new;
  if (typeof time !== 'number' || !Number.isFinite(time) || !AUDIT_SOURCE_SET.has(source)) return null;
  if (!isNullable(user, isString) || !isNullable(remote, isString) || !isString(lb) || !isNullable(member, isString) || !isString(field)) return null;
  if (!isNullable(old, isScalar) || !isNullable(value, isScalar)) return null;
  const instance = raw.instance;
  if (instance !== undefined && !isString(instance)) return null;
  return { time, source: source as AuditEntry['source'], user, remote, lb, member, field, old, new: value, ...(instance === undefined ? {} : { instance }) };
}

/** Validate parsed JSON; throws when the file as a whole is unusable. */
export function parseState(text: string, path: string): { state: PersistedState; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`state file ${path} is not valid JSON (${(e as Error).message}); refusing it`);
  }
  if (!isRecord(raw) || raw.version !== STATE_VERSION || !isRecord(raw.balancers)) {
    throw new Error(`state file ${path} is not a jkbalancer state file of version ${STATE_VERSION}; refusing it`);
  }
  const problems: string[] = [];
  const state = emptyState();
  for (const [lbName, lbRaw] of Object.entries(raw.balancers)) {
    // Assigning this key would replace the object's prototype instead of adding an entry.
    if (lbName === '__proto__') {
      problems.push(`${lbName}: not a worker name; ignored`);
      continue;
    }
    if (!isRecord(lbRaw)) {
      problems.push(`${lbName}: not an object; ignored`);
      continue;
    }
    const saved: SavedBalancer = {
      settings: readFields(lbRaw.settings ?? {}, lbName, (k) => LB_BY_KEY.get(k)?.persisted === true, problems),
      members: {},
    };
    const members = isRecord(lbRaw.members) ? lbRaw.members : {};
    for (const [memberName, fields] of Object.entries(members)) {
      if (memberName === '__proto__') {
        problems.push(`${lbName}/${memberName}: not a worker name; ignored`);
        continue;
      }
      saved.members[memberName] = readFields(fields, `${lbName}/${memberName}`, (k) => MEMBER_BY_KEY.get(k)?.persisted === true, problems);
    }
    state.balancers[lbName] = saved;
  }
  if (raw.audit !== undefined) {
    if (!Array.isArray(raw.audit)) problems.push('audit: not a list; ignored');
    else {
      const audit: AuditEntry[] = [];
      raw.audit.forEach((e, i) => {
        const entry = readAuditEntry(e);
        if (entry === null) problems.push(`audit[${i}]: not an audit entry; ignored`);
        else audit.push(entry);
      });
      state.audit = audit;
    }
  }
  return { state, problems };
}

export class StateStore {
  private writes: Promise<void> = Promise.resolve();
  private seq = 0;

  constructor(
    readonly path: string,
    private readonly current: PersistedState = emptyState(),
  ) {}

  /**
   * Read a state file. A missing file is an empty state; a file that is not valid JSON or not a
   * state file throws (the caller starts from the workers file and logs the message); single bad
   * entries are dropped and listed in `problems`.
   */
  static load(path: string): { state: PersistedState; problems: string[] } {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyState(), problems: [] };
      throw new Error(`cannot read state file ${path}: ${(e as Error).message}`);
    }
    return parseState(text, path);
  }

  get state(): PersistedState {
    return this.current;
  }

  private balancer(lb: string): SavedBalancer {
    return (this.current.balancers[lb] ??= { settings: {}, members: {} });
  }

  /** Record an lb setting; a value equal to the workers file's removes the override. */
  recordLb(lb: string, key: string, value: AttrValue, config: AttrValue): void {
    setOrClear(this.balancer(lb).settings, key, value, config);
    this.prune(lb);
  }

  recordMember(lb: string, member: string, key: string, value: AttrValue, config: AttrValue): void {
    const b = this.balancer(lb);
    setOrClear((b.members[member] ??= {}), key, value, config);
    if (Object.keys(b.members[member]).length === 0) delete b.members[member];
    this.prune(lb);
  }

  /** The audit trail to write with the next save (AdminState keeps it bounded). */
  recordAudit(entries: readonly AuditEntry[]): void {
    this.current.audit = [...entries];
  }

  private prune(lb: string) {
    const b = this.current.balancers[lb];
    if (b && Object.keys(b.settings).length === 0 && Object.keys(b.members).length === 0) delete this.current.balancers[lb];
  }

  /** Write the current state atomically; writes are queued so the last one always wins. */
  save(): Promise<void> {
    const next = this.writes.then(() => this.writeNow());
    this.writes = next.catch(() => undefined);
    return next;
  }

  private async writeNow(): Promise<void> {
    const text = JSON.stringify({ ...this.current, savedAt: new Date().toISOString() }, null, 2) + '\n';
    const dir = dirname(this.path);
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${++this.seq}.tmp`);
    const fh = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } catch (e) {
      await fh.close();
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await fh.close();
    try {
      await rename(tmp, this.path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    // Make the rename itself durable; some platforms cannot fsync a directory, which is harmless.
    try {
      const d = await open(dir, fsConstants.O_RDONLY);
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      /* directory fsync unsupported */
    }
  }
}

function setOrClear(fields: SavedFields, key: string, value: AttrValue, config: AttrValue) {
  if (value === config) delete fields[key];
  else fields[key] = { value, config };
}

/**
 * The saved value to restore, or null (with the reason in `problems`) when the workers-file value
 * has changed since it was saved (the file wins) or the value is not one a live update would
 * accept now (wrong type, or out of range: an older version accepted `vaprt=99999` and `vwn=`).
 */
function restorable(attr: LbAttribute | MemberAttribute, configured: AttrValue, entry: SavedValue, where: string, problems: string[]): AttrValue | null {
  if (configured !== entry.config) {
    problems.push(`state file: ${where} was changed in the workers file since it was set live; keeping the workers file value`);
    return null;
  }
  const checked = checkStoredValue(attr, entry.value);
  if (checked.ok) return checked.value;
  problems.push(`state file: ${where} has an invalid value ${JSON.stringify(entry.value)} (${checked.reason}); ignored`);
  return null;
}

/**
 * Re-apply saved changes to freshly built balancers (at start and after a reload). Balancers or
 * members no longer configured, values the workers file has changed since, and invalid values
 * are reported and skipped; everything else is applied through the balancer's gate, with the same
 * side effects as a live update.
 */
export function applyState(
  state: PersistedState,
  balancers: ReadonlyMap<string, Balancer>,
  logger: StateLogger,
  /** Told of every value restored (the audit trail records it with source 'restore'). */
  onRestore?: (r: { lb: string; member: string | null; field: string; old: AttrValue; new: AttrValue }) => void,
): string[] {
  const problems: string[] = [];
  for (const [lbName, saved] of Object.entries(state.balancers)) {
    const b = balancers.get(lbName);
    if (!b) {
      problems.push(`state file: balancer '${lbName}' is not configured any more; its saved changes are ignored`);
      continue;
    }
    for (const [key, entry] of Object.entries(saved.settings)) {
      const attr = LB_BY_KEY.get(key);
      if (!attr || !attr.persisted) continue;
      const value = restorable(attr, attr.configured(b.lb), entry, `${lbName}.${key}`, problems);
      const before = attr.current(b.lb);
      if (value !== null && before !== value) {
        b.setLb(key, value);
        onRestore?.({ lb: lbName, member: null, field: key, old: before, new: value });
        logger.info({ lb: lbName, field: key, value }, 'restored status change');
      }
    }
    for (const [memberName, fields] of Object.entries(saved.members)) {
      const m = b.memberByName(memberName);
      if (!m) {
        problems.push(`state file: member '${memberName}' of balancer '${lbName}' is not configured any more; its saved changes are ignored`);
        continue;
      }
      // Table order applies route before domain, as a live update does.
      for (const attr of MEMBER_ATTRIBUTES) {
        const entry = fields[attr.key];
        if (!entry || !attr.persisted) continue;
        const where = `${lbName}/${memberName}.${attr.key}`;
        const value = restorable(attr, attr.configured(m), entry, where, problems);
        if (value === null) continue;
        if (attr.key === 'route' && b.members.some((o) => o !== m && o.route === value)) {
          problems.push(`state file: ${where} '${value}' is already the route of another member; ignored`);
          continue;
        }
        const before = attr.current(m);
        if (before !== value) {
          b.setMember(m.index, attr.key, value);
          onRestore?.({ lb: lbName, member: memberName, field: attr.key, old: before, new: value });
          logger.info({ lb: lbName, member: memberName, field: attr.key, value }, 'restored status change');
        }
      }
    }
  }
  for (const p of problems) logger.warn({ problem: p }, 'state file');
  return problems;
}
