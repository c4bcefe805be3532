/** AdminOps applied through the gate: a set with `expect` applies only while the setting still has that value. */
import { describe, expect, it } from 'vitest';
import { applyOp } from '../../src/routing/admin-ops.js';
import { Act } from '../../src/routing/types.js';
import { balancer, memberConfig } from './fixtures.js';

describe('applyOp with expect', () => {
  it("the drain policy's stop applies to a member still disabled, and to no other", () => {
    const { b } = balancer([memberConfig('n1'), memberConfig('n2')]);
    const all = new Map([['lb', b]]);
    const stop = (member: string) => applyOp(all, { kind: 'set', lb: 'lb', member, key: 'activation', value: 'STP', expect: 'DIS' });
    b.setActivation(0, Act.DISABLED);
    expect(stop('n1')).toMatchObject({ ok: true, changes: [{ member: 'n1', key: 'activation', old: 'DIS', value: 'STP' }] });
    // n2 was re-activated (or never disabled): the stop does not apply, nothing changes.
    expect(stop('n2')).toEqual({ ok: false, changes: [] });
    expect(b.members.map((m) => m.activation)).toEqual([Act.STOPPED, Act.ACTIVE]);
    // The same for lb settings.
    expect(applyOp(all, { kind: 'set', lb: 'lb', member: null, key: 'method', value: 'Busyness', expect: 'Traffic' }).ok).toBe(false);
    expect(applyOp(all, { kind: 'set', lb: 'lb', member: null, key: 'method', value: 'Busyness', expect: 'Request' }).ok).toBe(true);
  });
});
