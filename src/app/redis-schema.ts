/**
 * How the shared admin state (--state-redis, app/redis-state.ts) is laid out in Redis, and the two
 * scripts that change it. One lb's keys share the hash tag `{lb}` (one slot, so a script may touch
 * them all):
 *
 * - `jkbalancer:{lb}:version` — the lb's state version: every change moves it by one.
 * - `jkbalancer:{lb}:epoch` — set when the state is seeded; a new epoch (Redis lost its data and
 *   was seeded again) makes every instance take the state afresh whatever its version.
 * - `jkbalancer:{lb}:lb` — hash: the lb settings set live, field = attribute key, value = JSON.
 * - `jkbalancer:{lb}:m:<member>` — hash: one member's settings set live, the same way.
 *   A field that is absent holds the workers-file value (a change back to it deletes the field).
 * - `jkbalancer:{lb}:drain:<member>` — hash: per instance, its drain sketch of the member
 *   (app/redis-drains.ts), expiring when nobody publishes it any more.
 * - channel `jkbalancer:changes` — one message per change: `<version> <epoch> <payload JSON>`.
 *
 * Pure apart from the types: no I/O.
 */
import { checkStoredValue, LB_ATTRIBUTES, LB_BY_KEY, MEMBER_ATTRIBUTES, MEMBER_BY_KEY, type AttrValue } from '../routing/attributes.js';
import type { Balancer } from '../routing/balancer.js';
import { AUDIT_SOURCES, type AuditEntry, type SetOp } from '../status/admin.js';

export const CHANNEL = 'jkbalancer:changes';

const base = (lb: string) => `jkbalancer:{${lb}}`;
export const versionKey = (lb: string) => `${base(lb)}:version`;
export const epochKey = (lb: string) => `${base(lb)}:epoch`;
export const lbKey = (lb: string) => `${base(lb)}:lb`;
export const memberKey = (lb: string, member: string) => `${base(lb)}:m:${member}`;
export const drainKey = (lb: string, member: string) => `${base(lb)}:drain:${member}`;
/** The hash a set op writes to. */
export const hashKeyOf = (op: SetOp) => (op.member === null ? lbKey(op.lb) : memberKey(op.lb, op.member));

/**
 * WRITE: KEYS = version, epoch, then one hash per op; ARGV = channel, payload, then per op: field,
 * new value as JSON ('' = the workers-file value: delete the field), expected value as JSON ('' =
 * none), the workers-file value as JSON (what an absent field holds, for the expectation).
 * Returns {1, version} when written and published; {0, version} when an expectation failed
 * (nothing written); {-1, 0} when the lb's state was never seeded (Redis lost it: seed first).
 */
export const WRITE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
local n = #KEYS - 2
for i = 1, n do
  local a = 2 + (i - 1) * 4
  if ARGV[a + 3] ~= '' then
    local cur = redis.call('HGET', KEYS[i + 2], ARGV[a + 1])
    if not cur then cur = ARGV[a + 4] end
    if cur ~= ARGV[a + 3] then return {0, tonumber(redis.call('GET', KEYS[1]))} end
  end
end
for i = 1, n do
  local a = 2 + (i - 1) * 4
  if ARGV[a + 2] == '' then redis.call('HDEL', KEYS[i + 2], ARGV[a + 1])
  else redis.call('HSET', KEYS[i + 2], ARGV[a + 1], ARGV[a + 2]) end
end
local v = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], v .. ' ' .. (redis.call('GET', KEYS[2]) or '-') .. ' ' .. ARGV[2])
return {1, v}
`;

/**
 * SEED: KEYS = version, epoch, then the hashes to fill; ARGV = epoch, then per field: index of its
 * hash in KEYS (3…), field, value JSON. Only when the lb has no state in Redis yet (first start, or
 * Redis lost its data): returns 1 when it seeded, 0 when another instance had.
 */
export const SEED_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV, 3 do redis.call('HSET', KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2]) end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], 1)
return 1
`;

/** One change as published (the lb's name once, the ops without it). */
export interface ChangePayload {
  readonly lb: string;
  /** The writing instance's process id (tells its own changes from the others'). */
  readonly id: string;
  /** The writing instance's name (host:port), for the audit trail and the logs. */
  readonly instance: string;
  /** Matches the published change to the write waiting for it. */
  readonly nonce: string;
  readonly source: AuditEntry['source'];
  readonly user: string | null;
  readonly remote: string | null;
  readonly ops: readonly { readonly member: string | null; readonly key: string; readonly value: AttrValue }[];
}

export interface ChangeMessage {
  readonly version: number;
  readonly epoch: string;
  readonly payload: ChangePayload;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is AttrValue => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
const SOURCES: ReadonlySet<unknown> = new Set(AUDIT_SOURCES);

/** A published change, or null when the message is not one (logged by the caller). */
export function parseChange(text: string): ChangeMessage | null {
  const m = /^(\d+) (\S+) (.*)$/s.exec(text);
  if (m === null) return null;
  let p: unknown;
  try {
    p = JSON.parse(m[3]);
  } catch {
    return null;
  }
  if (!isRecord(p) || typeof p.lb !== 'string' || typeof p.id !== 'string' || typeof p.instance !== 'string' || typeof p.nonce !== 'string') return null;
  if (!SOURCES.has(p.source) || !(p.user === null || typeof p.user === 'string') || !(p.remote === null || typeof p.remote === 'string')) return null;
  if (!Array.isArray(p.ops) || !p.ops.every((o) => isRecord(o) && (o.member === null || typeof o.member === 'string') && typeof o.key === 'string' && isScalar(o.value))) return null;
  return { version: Number(m[1]), epoch: m[2], payload: p as unknown as ChangePayload };
}

/** A set op from shared data, or null when this instance's table does not know it or would refuse the value. */
export function sharedOp(lb: string, member: string | null, key: string, value: unknown): SetOp | null {
  const attr = member === null ? LB_BY_KEY.get(key) : MEMBER_BY_KEY.get(key);
  if (attr === undefined || !attr.persisted) return null;
  const checked = checkStoredValue(attr, value);
  return checked.ok ? { kind: 'set', lb, member, key, value: checked.value } : null;
}

/** A hash value as stored (JSON), or undefined when it is not JSON. */
function parseStored(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** One lb's shared state as read from Redis: its version, epoch and hashes. */
export interface LbSnapshot {
  readonly version: number;
  readonly epoch: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly members: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/**
 * The set ops that bring balancer b to a snapshot: every persisted setting, the stored value or,
 * where none is stored, the workers-file value; members in table order (route before domain), as
 * a live update applies them. `rejected` lists the stored values this instance refuses.
 */
export function opsOfSnapshot(b: Balancer, snap: LbSnapshot): { ops: SetOp[]; rejected: string[] } {
  const lb = b.lb.name;
  const ops: SetOp[] = [];
  const rejected: string[] = [];
  const add = (member: string | null, key: string, stored: string | undefined, configured: AttrValue) => {
    if (stored === undefined) {
      ops.push({ kind: 'set', lb, member, key, value: configured });
      return;
    }
    const op = sharedOp(lb, member, key, parseStored(stored));
    if (op === null) rejected.push(`${lb}${member === null ? '' : `/${member}`}.${key}=${stored}`);
    else ops.push(op);
  };
  for (const a of LB_ATTRIBUTES) if (a.persisted) add(null, a.key, snap.settings[a.key], a.configured(b.lb));
  for (const m of b.members) {
    const fields = snap.members.get(m.name) ?? {};
    for (const a of MEMBER_ATTRIBUTES) if (a.persisted) add(m.name, a.key, fields[a.key], a.configured(m));
  }
  return { ops, rejected };
}

/** Balancer b's live settings that differ from its workers file: what SEED stores, by hash key. */
export function overridesOf(b: Balancer): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  const put = (key: string, field: string, value: AttrValue) => {
    let h = out.get(key);
    if (h === undefined) out.set(key, (h = {}));
    h[field] = JSON.stringify(value);
  };
  for (const a of LB_ATTRIBUTES) if (a.persisted && a.current(b.lb) !== a.configured(b.lb)) put(lbKey(b.lb.name), a.key, a.current(b.lb));
  for (const m of b.members) {
    for (const a of MEMBER_ATTRIBUTES) if (a.persisted && a.current(m) !== a.configured(m)) put(memberKey(b.lb.name, m.name), a.key, a.current(m));
  }
  return out;
}

/** The workers-file value of the setting a set op changes on balancer b (undefined: b lacks it). */
export function configuredOf(b: Balancer, op: SetOp): AttrValue | undefined {
  if (op.member === null) return LB_BY_KEY.get(op.key)?.configured(b.lb);
  const m = b.memberByName(op.member);
  return m === undefined ? undefined : MEMBER_BY_KEY.get(op.key)?.configured(m);
}
