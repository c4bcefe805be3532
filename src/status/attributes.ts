/**
 * The status API's view of the attribute table (routing/attributes.ts, which owns it): which live
 * values differ from the workers file, for the "overrides" field of every output format and the
 * changed-value marks of the HTML page.
 */
import type { LbRuntime } from '../routing/balancer.js';
import { LB_ATTRIBUTES, MEMBER_ATTRIBUTES, type AttrValue } from '../routing/attributes.js';
import type { MemberRuntime } from '../routing/member.js';

/** Fields whose runtime value differs from the workers file: key → {config, current}. */
export type Overrides = Record<string, { config: AttrValue; current: AttrValue }>;

export function memberOverrides(m: MemberRuntime): Overrides {
  const out: Overrides = {};
  for (const a of MEMBER_ATTRIBUTES) {
    const current = a.current(m);
    const config = a.configured(m);
    if (current !== config) out[a.key] = { config, current };
  }
  return out;
}

export function lbOverrides(lb: LbRuntime): Overrides {
  const out: Overrides = {};
  for (const a of LB_ATTRIBUTES) {
    const current = a.current(lb);
    const config = a.configured(lb);
    if (current !== config) out[a.key] = { config, current };
  }
  return out;
}
