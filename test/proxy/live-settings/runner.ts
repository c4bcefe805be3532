/** A wire check (checks.ts) as a vitest test, with the table's transport rule checked on the same run. */
import { expect, it } from 'vitest';
import type { LbAttribute, MemberAttribute } from '../../../src/routing/attributes.js';
import type { WireCheck } from './checks.js';
import { rebuilt, type Backends } from './harness.js';

export function wireTest(attr: MemberAttribute | LbAttribute, check: WireCheck | undefined, b: () => Backends): void {
  if (check === undefined) return; // the coverage tests of the live-settings files report it
  it(`${attr.code} (${attr.key}): ${check.shows}`, async () => {
    await check.run(b());
    // A setting the transport is built from gives the member a new transport for the next request;
    // any other keeps the transport and its connections.
    if (attr.applies.includes('transport')) expect(rebuilt.members.length, 'a new transport for the changed member').toBeGreaterThan(0);
    else expect(rebuilt.members, 'no transport rebuilt for a change it does not read').toEqual([]);
  }, 30_000);
}
