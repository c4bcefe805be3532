/**
 * Every member setting takes effect on the wire, generated from the attribute table
 * (src/routing/attributes.ts): for each member attribute a balancer is started, the attribute is
 * changed through the status worker's URL API, and the behaviour change is shown at the backends or
 * in what the client gets (checks.ts). An attribute without a check fails here. Checks on a scripted
 * AJP container run in live-settings-ajp.test.ts, those that need a real Tomcat in
 * live-settings-tomcat.test.ts, the lb's own settings in live-settings-lb.test.ts.
 *
 * On the same runs, from the table: a change of a setting the transport is built from gives the
 * member a new transport for the next request; any other change keeps it and its connections.
 */
import { describe, expect, it } from 'vitest';
import { MEMBER_ATTRIBUTES } from '../../../src/routing/attributes.js';
import { fakeTomcatsForFile } from '../../helpers/fake-tomcat.js';
import { MEMBER_CHECKS } from './checks.js';
import type { Backends } from './harness.js';
import { wireTest } from './runner.js';

const http = fakeTomcatsForFile(['n1', 'n2', 'n3']);
const backends = (): Backends => ({ http: http as Backends['http'], tomcat: null });

describe('the member attributes and their wire checks', () => {
  it('every member attribute has a wire check, and every check an attribute', () => {
    expect(Object.keys(MEMBER_CHECKS).sort()).toEqual(MEMBER_ATTRIBUTES.map((a) => a.code).sort());
  });

  it('a setting that nothing reads says so in its check', () => {
    for (const a of MEMBER_ATTRIBUTES) expect(a.applies.includes('none'), a.key).toBe(MEMBER_CHECKS[a.code]?.shows.startsWith('nothing'));
  });
});

describe('member settings changed live take effect on the wire', () => {
  for (const attr of MEMBER_ATTRIBUTES) {
    const check = MEMBER_CHECKS[attr.code];
    if (check?.needs !== 'tomcat' && check?.needs !== 'ajp') wireTest(attr, check, backends);
  }
});
