/**
 * Admin operations: the changes an operator (or the drain policy) makes to runtime state, as plain
 * data addressed by lb and member name. A status request, the drain policy, another process of a
 * `--processes` balancer and a peer instance all express their change as AdminOps, and every copy
 * of the state applies them with `applyOp` — through the Balancer's gate — so one change has the
 * same side effects wherever it is applied. Plain data so they can cross a process boundary.
 *
 * Pure: no I/O.
 */
import type { Balancer } from './balancer.js';
import { MEMBER_BY_KEY, LB_BY_KEY, type AttrValue } from './attributes.js';

export type AdminOp =
  /**
   * A live setting (a key of LB_ATTRIBUTES when member is null, else of MEMBER_ATTRIBUTES). With
   * `expect`, only while the setting still has that value: the drain policy stops a member only if
   * it is still disabled, and a shared store checks the same against its own copy.
   */
  | { readonly kind: 'set'; readonly lb: string; readonly member: string | null; readonly key: string; readonly value: AttrValue; readonly expect?: AttrValue }
  /** Status "reset": the lb's counters and all members' (member null), or one member's. */
  | { readonly kind: 'reset'; readonly lb: string; readonly member: string | null }
  /** Status "recover": an ERROR member → RECOVER. */
  | { readonly kind: 'recover'; readonly lb: string; readonly member: string };

/** One setting that changed, with what the log, the state file and the audit need to know. */
export interface SettingChange {
  readonly lb: string;
  readonly member: string | null;
  readonly key: string;
  readonly old: AttrValue;
  readonly value: AttrValue;
  /** The workers-file value (the state file keeps it to notice a later edit of the file). */
  readonly config: AttrValue;
  /** The table says the change goes to the state file. */
  readonly persisted: boolean;
}

export interface OpResult {
  /** False when the op addressed nothing that exists or did not apply (recover of a member not in ERROR, a set whose `expect` no longer holds). */
  readonly ok: boolean;
  /** Settings that changed (a route change may also derive the domain); empty for reset/recover. */
  readonly changes: readonly SettingChange[];
}

const NOTHING: OpResult = { ok: false, changes: [] };
const DONE: OpResult = { ok: true, changes: [] };
const DOMAIN = MEMBER_BY_KEY.get('domain')!;

/** Applies one op through the gate of the balancer it names. A value equal to the current one changes nothing. */
export function applyOp(balancers: ReadonlyMap<string, Balancer>, op: AdminOp): OpResult {
  const b = balancers.get(op.lb);
  if (b === undefined) return NOTHING;
  const m = op.member === null ? null : b.memberByName(op.member);
  if (m === undefined) return NOTHING;
  switch (op.kind) {
    case 'reset':
      if (m === null) b.reset();
      else b.reset(m.index);
      return DONE;
    case 'recover':
      return m !== null && b.recover(m.index) ? DONE : NOTHING;
    case 'set': {
      if (m === null) {
        const attr = LB_BY_KEY.get(op.key);
        if (attr === undefined) return NOTHING;
        const old = attr.current(b.lb);
        if (op.expect !== undefined && old !== op.expect) return NOTHING;
        if (!b.setLb(op.key, op.value)) return DONE;
        return { ok: true, changes: [{ lb: op.lb, member: null, key: op.key, old, value: op.value, config: attr.configured(b.lb), persisted: attr.persisted }] };
      }
      const attr = MEMBER_BY_KEY.get(op.key);
      if (attr === undefined) return NOTHING;
      const old = attr.current(m);
      if (op.expect !== undefined && old !== op.expect) return NOTHING;
      const domainBefore = m.domain;
      if (!b.setMember(m.index, op.key, op.value)) return DONE;
      const changes: SettingChange[] = [{ lb: op.lb, member: m.name, key: op.key, old, value: op.value, config: attr.configured(m), persisted: attr.persisted }];
      // A route change may derive the domain (docs/status-worker.md#update-codes): a change too.
      if (op.key !== 'domain' && m.domain !== domainBefore) {
        changes.push({ lb: op.lb, member: m.name, key: 'domain', old: domainBefore, value: m.domain, config: DOMAIN.configured(m), persisted: DOMAIN.persisted });
      }
      return { ok: true, changes };
    }
  }
}
