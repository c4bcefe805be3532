/**
 * The wire checks (checks.ts) that need a real Tomcat 10: what only a real AJP connector shows,
 * e.g. a request head that needs bigger AJP packets than Tomcat's default. Generated from the same
 * table as live-settings-members.test.ts, which also checks that every attribute has a check.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { LB_ATTRIBUTES, MEMBER_ATTRIBUTES } from '../../../src/routing/attributes.js';
import { startTomcat, tomcatTestsEnabled, type TomcatInstance } from '../../helpers/tomcat.js';
import { LB_CHECKS, MEMBER_CHECKS } from './checks.js';
import type { Backends } from './harness.js';
import { wireTest } from './runner.js';

const enabled = tomcatTestsEnabled();
let tomcat: TomcatInstance | null = null;

beforeAll(async () => {
  // Packets up to 16 KiB on the connector, so the member's max_packet_size decides.
  if (enabled) tomcat = await startTomcat({ jvmRoute: 'tc', packetSize: 16384 });
}, 120_000);

afterAll(async () => {
  await tomcat?.stop();
}, 60_000);

const backends = (): Backends => ({ http: {} as Backends['http'], tomcat });

describe.runIf(enabled)('settings changed live take effect on the wire (real Tomcat 10)', () => {
  for (const attr of MEMBER_ATTRIBUTES) if (MEMBER_CHECKS[attr.code]?.needs === 'tomcat') wireTest(attr, MEMBER_CHECKS[attr.code], backends);
  for (const attr of LB_ATTRIBUTES) if (LB_CHECKS[attr.code]?.needs === 'tomcat') wireTest(attr, LB_CHECKS[attr.code], backends);
});
