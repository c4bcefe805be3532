/**
 * cmd=update (docs/status-worker.md#update-codes, #one-attribute-for-all-members): turn the
 * request's `v…` parameters into a checked list of assignments, then apply them. Everything is
 * validated before anything is applied — a malformed value, an over-long string, a route already
 * used by another member or an unresolvable host refuses the whole request (mod_jk applies what it
 * can and stops at the first failure), and so does a value outside the range mod_jk documents
 * (mod_jk skipped it silently). A value equal to the current one is skipped.
 */
import type { Balancer } from '../routing/balancer.js';
import type { MemberRuntime } from '../routing/member.js';
import {
  LB_BY_CODE,
  MAX_STRING_BYTES,
  MEMBER_ATTRIBUTES,
  MEMBER_BY_CODE,
  MEMBER_BY_KEY,
  parseNewValue,
  type AttrValue,
  type LbAttribute,
  type MemberAttribute,
} from '../routing/attributes.js';

/** Parameters that are not update values (every update value starts with 'v', as in mod_jk). */
const isUpdateParam = (key: string) => key.startsWith('v');

export type Assignment =
  | { readonly scope: 'lb'; readonly attr: LbAttribute; readonly value: AttrValue }
  | { readonly scope: 'member'; readonly member: MemberRuntime; readonly attr: MemberAttribute; readonly value: AttrValue };

export type Plan =
  | { readonly ok: true; readonly assignments: readonly Assignment[]; readonly hosts: readonly { member: MemberRuntime; host: string; port: number }[] }
  | { readonly ok: false; readonly message: string };

const FAIL = 'Update failed (at least partially)';

/** mod_jk's wording for strings that do not fit its 64-byte fields. */
const STRING_NAMES: Record<string, string> = { route: 'route', redirect: 'redirect', domain: 'domain', host: 'host name' };

/**
 * `*` any sequence, `?` one character, case-sensitive, whole name (jk_wildchar_match). Matched by
 * hand in O(pattern × name): a pattern such as `sw=***…*x` made a backtracking RegExp run for hours.
 */
export function wildcardMatcher(pattern: string): (name: string) => boolean {
  return (name) => {
    let p = 0;
    let n = 0;
    // Position of the last '*' seen, and the name position it currently stands for up to.
    let star = -1;
    let starN = 0;
    while (n < name.length) {
      if (pattern[p] === '*') {
        star = p++;
        starN = n;
      } else if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
        p++;
        n++;
      } else if (star >= 0) {
        p = star + 1;
        n = ++starN;
      } else {
        return false;
      }
    }
    while (pattern[p] === '*') p++;
    return p === pattern.length;
  };
}

export const hasWildcard = (sw: string) => /[*?]/.test(sw);

function invalid(attr: MemberAttribute | LbAttribute, raw: string, reason: string, who: string): string {
  if (attr.kind === 'string' && Buffer.byteLength(raw) > MAX_STRING_BYTES) {
    return `${FAIL}: new ${STRING_NAMES[attr.key]} '${raw}' too long for ${who}, see log file for details.`;
  }
  return `${FAIL}: invalid value '${raw}' for ${attr.key} of ${who} (${reason}).`;
}

/** The balancer an update addresses, and the members its `sw` selected (none without `sw`). */
export interface UpdateTarget {
  readonly balancer: Balancer;
  readonly sw: string | undefined;
  readonly members: readonly MemberRuntime[];
}

/**
 * Plan an update of a balancer: its own settings (no sw, no att), one attribute for all members
 * (att + val<i>), or the members `sw` selected (wildcards allowed).
 */
export function planUpdate(params: ReadonlyMap<string, string>, masked: ReadonlySet<string>, target: UpdateTarget): Plan {
  const { balancer: b, sw } = target;
  const updates = [...params].filter(([k]) => isUpdateParam(k));
  const bad = updates.find(([k]) => masked.has(k));
  if (bad) return { ok: false, message: `${FAIL}: value '${bad[1]}' of '${bad[0]}' contained one of < > ? " (not allowed).` };
  const att = params.get('att');
  const assignments: Assignment[] = [];

  if (sw === undefined && att !== undefined) {
    const attr = MEMBER_BY_CODE.get(att);
    if (!attr || !attr.allMembers) return { ok: false, message: `${FAIL}: unknown attribute '${att}' for all members.` };
    for (const [key, raw] of updates) {
      const idx = /^val(0|[1-9]\d{0,4})$/.exec(key);
      const member = idx ? b.members[Number(idx[1])] : undefined;
      if (!member) return { ok: false, message: `${FAIL}: parameter '${key}' does not apply to this update.` };
      const p = parseNewValue(attr, raw, attr.current(member));
      if (p.kind === 'invalid') return { ok: false, message: invalid(attr, raw, p.reason, `sub worker '${member.name}'`) };
      if (p.kind === 'value') assignments.push({ scope: 'member', member, attr, value: p.value });
    }
  } else if (sw === undefined) {
    for (const [key, raw] of updates) {
      const attr = LB_BY_CODE.get(key);
      if (!attr) return { ok: false, message: `${FAIL}: parameter '${key}' does not apply to a load balancer.` };
      const p = parseNewValue(attr, raw, attr.current(b.lb));
      if (p.kind === 'invalid') return { ok: false, message: invalid(attr, raw, p.reason, `worker '${b.lb.name}'`) };
      if (p.kind === 'value') assignments.push({ scope: 'lb', attr, value: p.value });
    }
  } else {
    const abort = hasWildcard(sw) ? ' Aborting further wildcard updates.' : '';
    for (const [key] of updates) {
      if (!MEMBER_BY_CODE.has(key)) return { ok: false, message: `${FAIL}: parameter '${key}' does not apply to a member.` };
    }
    for (const member of target.members) {
      // Table order = mod_jk's order of member updates; it puts route before domain.
      for (const attr of MEMBER_ATTRIBUTES) {
        const raw = params.get(attr.code);
        if (raw === undefined) continue;
        const p = parseNewValue(attr, raw, attr.current(member));
        if (p.kind === 'invalid') return { ok: false, message: invalid(attr, raw, p.reason, `sub worker '${member.name}'`) + abort };
        if (p.kind === 'value') assignments.push({ scope: 'member', member, attr, value: p.value });
      }
    }
  }

  // Routes must stay unique (mod_jk only checks at startup, docs/README.md#mod_jk-quirks-not-reproduced).
  const finalRoute = new Map(b.members.map((m) => [m, m.route]));
  for (const a of assignments) if (a.scope === 'member' && a.attr.key === 'route') finalRoute.set(a.member, a.value as string);
  for (const a of assignments) {
    if (a.scope !== 'member' || a.attr.key !== 'route') continue;
    const other = b.members.find((m) => m !== a.member && finalRoute.get(m) === a.value);
    if (other) {
      return { ok: false, message: `${FAIL}: new route '${a.value}' for sub worker '${a.member.name}' is already the route of sub worker '${other.name}'.` };
    }
  }

  // A new host or port must resolve before it is used (docs/status-worker.md#update-codes, vahst/vaprt).
  const hosts: { member: MemberRuntime; host: string; port: number }[] = [];
  const touched = new Set<MemberRuntime>();
  for (const a of assignments) {
    if (a.scope === 'member' && (a.attr.key === 'host' || a.attr.key === 'port')) touched.add(a.member);
  }
  for (const m of touched) {
    const pick = (key: string, current: AttrValue) =>
      assignments.find((a) => a.scope === 'member' && a.member === m && a.attr.key === key)?.value ?? current;
    hosts.push({ member: m, host: pick('host', m.host) as string, port: pick('port', m.port) as number });
  }
  return { ok: true, assignments, hosts };
}

export function unresolvableMessage(host: string, port: number, member: string): string {
  return `${FAIL}: could not resolve address '${host}:${port}' for sub worker '${member}'.`;
}
