/**
 * A live change of a transport setting replaces the member's transport for the next request; a
 * request already in flight on the old one finishes there, and the old connections close after it.
 */
import { describe, expect, it } from 'vitest';
import { fakeTomcatsForFile } from '../../helpers/fake-tomcat.js';
import { sticky, until, withFakeAjp, withLive, workersFile } from './harness.js';

const http = fakeTomcatsForFile(['n1', 'n2']);

describe('a transport replaced by a live change', () => {
  it('AJP: the request in flight finishes on the old connection, which then closes', () =>
    withFakeAjp('a1', (fake) =>
      withLive(workersFile([{ name: 'a1', type: 'ajp13', port: fake.port, lines: ['connection_pool_minsize=0'] }]), async (live) => {
        fake.replyDelayMs = 800;
        const slow = live.get('/app/x');
        await until(() => fake.forwards() === 1, 'the slow request to reach the container');
        fake.replyDelayMs = 0;
        await live.update('sw=a1&vapt=1000');
        expect(await live.who('/app/x')).toBe('a1');
        expect(fake.connections.map((c) => c.packets)).toEqual([['forward'], ['cping', 'forward']]);
        expect(fake.connections[0].closed).toBe(false); // still carrying the slow request
        const r = await slow;
        expect([r.status, r.text]).toEqual([200, 'ajp a1']);
        expect(fake.forwards()).toBe(2); // answered where it was sent, not replayed
        await until(() => fake.connections[0].closed, 'the old connection to close after its request');
        expect(fake.connections[1].closed).toBe(false);
      }),
    ));

  it('HTTP: the request in flight is answered by the old address, the next one by the new', () =>
    withLive(workersFile([{ name: 'n1', port: http.n1.port }]), async (live) => {
      const before = http.n1.served;
      const slow = live.get('/app/slow?ms=800', sticky('n1'));
      await until(() => http.n1.served > before, 'the slow request to reach n1');
      await live.update(`sw=n1&vaprt=${http.n2.port}`);
      expect(await live.who('/app/x', sticky('n1'))).toBe('n2');
      const r = await slow;
      expect([r.status, r.headers['x-instance']]).toEqual([200, 'n1']);
    }));
});
