/**
 * The wire checks (checks.ts) of member settings that only an AJP13 connection shows — CPings after
 * connect, before requests and on idle connections, their timeout, idle connections closed — on a
 * scripted AJP container that logs every packet and connection (real Tomcat does not say when it
 * got a CPing). Generated from the same table as live-settings-members.test.ts, which also checks
 * that every attribute has a check.
 */
import { describe } from 'vitest';
import { MEMBER_ATTRIBUTES } from '../../../src/routing/attributes.js';
import { MEMBER_CHECKS } from './checks.js';
import type { Backends } from './harness.js';
import { wireTest } from './runner.js';

const backends = (): Backends => ({ http: {} as Backends['http'], tomcat: null });

describe('AJP member settings changed live take effect on the wire', () => {
  for (const attr of MEMBER_ATTRIBUTES) if (MEMBER_CHECKS[attr.code]?.needs === 'ajp') wireTest(attr, MEMBER_CHECKS[attr.code], backends);
});
