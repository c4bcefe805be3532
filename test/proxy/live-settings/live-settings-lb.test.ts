/**
 * Every setting of the lb worker itself takes effect on the wire, generated from the attribute
 * table (src/routing/attributes.ts) as live-settings-members.test.ts does for the members: each is
 * changed through the status worker's URL API on a running balancer and the change in routing,
 * failover or recovery is shown on real sockets (checks.ts). An attribute without a check fails here.
 */
import { describe, expect, it } from 'vitest';
import { LB_ATTRIBUTES } from '../../../src/routing/attributes.js';
import { fakeTomcatsForFile } from '../../helpers/fake-tomcat.js';
import { LB_CHECKS } from './checks.js';
import type { Backends } from './harness.js';
import { wireTest } from './runner.js';

const http = fakeTomcatsForFile(['n1', 'n2', 'n3']);
const backends = (): Backends => ({ http: http as Backends['http'], tomcat: null });

describe('the lb attributes and their wire checks', () => {
  it('every lb attribute has a wire check, and every check an attribute', () => {
    expect(Object.keys(LB_CHECKS).sort()).toEqual(LB_ATTRIBUTES.map((a) => a.code).sort());
  });

  it('a setting that nothing reads says so in its check', () => {
    for (const a of LB_ATTRIBUTES) expect(a.applies.includes('none'), a.key).toBe(LB_CHECKS[a.code]?.shows.startsWith('nothing'));
  });
});

describe('lb settings changed live take effect on the wire', () => {
  for (const attr of LB_ATTRIBUTES) {
    const check = LB_CHECKS[attr.code];
    if (check?.needs !== 'tomcat') wireTest(attr, check, backends);
  }
});
