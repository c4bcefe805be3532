/**
 * One wire check per attribute of the update table (src/routing/attributes.ts), by update code:
 * each starts a balancer, shows the behaviour before, changes the attribute live through the status
 * worker's URL API (`cmd=update`), and shows the behaviour after — on real sockets, at the backends
 * or in what the client gets. live-settings-members.test.ts and live-settings-lb.test.ts fail when an
 * attribute of the table has no check here (or a check names no attribute), so a new live setting
 * cannot go untested.
 */
import { expect } from 'vitest';
import { startFakeTomcat } from '../../helpers/fake-tomcat.js';
import { freePort } from '../../helpers/tomcat.js';
import {
  sleep,
  startPlainBackend,
  sticky,
  until,
  withFakeAjp,
  withLive,
  workersFile,
  type Backends,
  type MemberSpec,
} from './harness.js';

export interface WireCheck {
  /** The behaviour change the check shows, for the test's title. */
  readonly shows: string;
  /** What it needs: fake HTTP Tomcats, a scripted AJP container, or a real Tomcat 10. */
  readonly needs: 'http' | 'ajp' | 'tomcat';
  run(b: Backends): Promise<void>;
}

const NOSESSION = '/app/x?nosession=1';

const http = (b: Backends, ...names: ('n1' | 'n2' | 'n3')[]): MemberSpec[] => names.map((name) => ({ name, port: b.http[name].port }));

function counts(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

/** Requests served by these fake Tomcats so far. */
const served = (b: Backends, ...names: ('n1' | 'n2' | 'n3')[]) => names.reduce((n, name) => n + b.http[name].served, 0);

/** An ajp13 member `a1` on the fake container's port; pool connections may all close when idle. */
const ajpMember = (port: number, ...lines: string[]): MemberSpec => ({ name: 'a1', type: 'ajp13', port, lines: ['connection_pool_minsize=0', ...lines] });

export const MEMBER_CHECKS: Readonly<Record<string, WireCheck>> = {
  vwa: {
    shows: 'disabled: new sessions avoid the member, its sessions stay; stopped: its sessions fail over',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
        expect(new Set(await live.whoAll(4, NOSESSION))).toEqual(new Set(['n1', 'n2']));
        await live.update('sw=n1&vwa=d');
        expect(await live.whoAll(4, NOSESSION)).toEqual(['n2', 'n2', 'n2', 'n2']);
        expect(await live.who('/app/x', sticky('n1'))).toBe('n1');
        await live.update('sw=n1&vwa=s');
        expect(await live.who('/app/x', sticky('n1'))).toBe('n2');
      }),
  },
  vwf: {
    shows: 'a member with lbfactor 3 gets three times the new requests of one with 1',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
        await live.command('cmd=reset');
        const before = counts(await live.whoAll(12, NOSESSION));
        expect(Math.abs(before.n1 - before.n2)).toBeLessThanOrEqual(2);
        await live.update('sw=n1&vwf=3');
        await live.command('cmd=reset');
        const after = counts(await live.whoAll(12, NOSESSION));
        expect(after.n1).toBeGreaterThanOrEqual(8);
      }),
  },
  vwn: {
    shows: 'sessions of the new route stick to the member, and the backend is told the new route',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
        expect(new Set(await live.whoAll(4, '/app/x', sticky('blue')))).toEqual(new Set(['n1', 'n2']));
        await live.update('sw=n1&vwn=blue');
        expect(await live.whoAll(4, '/app/x', sticky('blue'))).toEqual(['n1', 'n1', 'n1', 'n1']);
        const r = await live.get('/app/x', sticky('blue'));
        expect(JSON.parse(r.text)).toMatchObject({ instance: 'n1', route: 'blue' });
      }),
  },
  vwr: {
    shows: 'the sessions of a stopped member fail over to its redirect',
    needs: 'http',
    run: (b) =>
      withLive(workersFile([{ ...http(b, 'n1')[0], lines: ['activation=S'] }, ...http(b, 'n2', 'n3')]), async (live) => {
        expect(new Set(await live.whoAll(4, '/app/x', sticky('n1')))).toEqual(new Set(['n2', 'n3']));
        await live.update('sw=n1&vwr=n3');
        expect(await live.whoAll(4, '/app/x', sticky('n1'))).toEqual(['n3', 'n3', 'n3', 'n3']);
      }),
  },
  vwc: {
    shows: 'the sessions of a stopped member fail over inside its new domain',
    needs: 'http',
    run: (b) =>
      withLive(workersFile([{ ...http(b, 'n1')[0], lines: ['activation=S'] }, ...http(b, 'n2', 'n3')]), async (live) => {
        expect(new Set(await live.whoAll(4, '/app/x', sticky('n1')))).toEqual(new Set(['n2', 'n3']));
        await live.update('sw=n1&vwc=dc');
        await live.update('sw=n3&vwc=dc');
        expect(await live.whoAll(4, '/app/x', sticky('n1'))).toEqual(['n3', 'n3', 'n3', 'n3']);
      }),
  },
  vwd: {
    shows: 'new requests go to the nearer member only',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
        expect(new Set(await live.whoAll(4, NOSESSION))).toEqual(new Set(['n1', 'n2']));
        await live.update('sw=n1&vwd=1');
        expect(await live.whoAll(4, NOSESSION)).toEqual(['n2', 'n2', 'n2', 'n2']);
      }),
  },
  vahst: {
    shows: 'the next request goes to the new host',
    needs: 'http',
    run: async (b) => {
      // Same port as n1, on another loopback address.
      const moved = await startPlainBackend('moved', '127.0.0.2', b.http.n1.port);
      try {
        await withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
          expect(await live.who('/app/x', sticky('n1'))).toBe('n1');
          await live.update('sw=n1&vahst=127.0.0.2');
          expect(await live.whoAll(2, '/app/x', sticky('n1'))).toEqual(['moved', 'moved']);
        });
      } finally {
        await moved.close();
      }
    },
  },
  vaprt: {
    shows: 'the next request goes to the new port',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
        expect(await live.who('/app/x', sticky('n1'))).toBe('n1');
        await live.update(`sw=n1&vaprt=${b.http.n3.port}`);
        expect(await live.whoAll(2, '/app/x', sticky('n1'))).toEqual(['n3', 'n3']);
      }),
  },
  vacpt: {
    shows: 'an idle AJP connection is closed at maintenance once older than the new connection_pool_timeout',
    needs: 'ajp',
    run: () =>
      withFakeAjp('a1', (fake) =>
        withLive(workersFile([ajpMember(fake.port)]), async (live) => {
          expect(await live.who('/app/x')).toBe('a1');
          await sleep(2_500); // two maintenance runs: connection_pool_timeout 0 keeps idle connections
          expect(fake.open()).toBe(1);
          await live.update('sw=a1&vacpt=1');
          expect(await live.who('/app/x')).toBe('a1');
          const conn = fake.connections.at(-1)!;
          await until(() => conn.closed, 'the idle connection to close after 1 s');
          expect(conn.packets).toEqual(['forward']);
          expect(fake.open()).toBe(0);
        }),
      ),
  },
  vapng: {
    shows: 'an interval CPing answered slower than the new ping_timeout closes the connection',
    needs: 'ajp',
    run: () =>
      withFakeAjp('a1', (fake) =>
        withLive(workersFile([ajpMember(fake.port, 'connection_ping_interval=1', 'ping_timeout=5000')]), async (live) => {
          fake.cpongDelayMs = 300;
          expect(await live.who('/app/x')).toBe('a1');
          const first = fake.connections.at(-1)!;
          await until(() => first.packets.includes('cping'), 'an interval CPing');
          await sleep(600);
          expect(first.closed).toBe(false); // the CPong came within 5000 ms
          await live.update('sw=a1&vapng=100');
          expect(await live.who('/app/x')).toBe('a1');
          const second = fake.connections.at(-1)!;
          expect(second).not.toBe(first);
          await until(() => second.closed, 'the probe to time out after 100 ms and close the connection');
          expect(second.packets).toEqual(['forward', 'cping']);
        }),
      ),
  },
  vact: {
    shows: 'a new AJP connection starts with a CPing',
    needs: 'ajp',
    run: () =>
      withFakeAjp('a1', (fake) =>
        withLive(workersFile([ajpMember(fake.port)]), async (live) => {
          await live.whoAll(2, '/app/x');
          expect(fake.connections.map((c) => c.packets)).toEqual([['forward', 'forward']]);
          await live.update('sw=a1&vact=1000');
          expect(await live.whoAll(2, '/app/x')).toEqual(['a1', 'a1']);
          expect(fake.connections.at(-1)!.packets).toEqual(['cping', 'forward', 'forward']);
        }),
      ),
  },
  vapt: {
    shows: 'every AJP request is preceded by a CPing',
    needs: 'ajp',
    run: () =>
      withFakeAjp('a1', (fake) =>
        withLive(workersFile([ajpMember(fake.port)]), async (live) => {
          await live.whoAll(3, '/app/x');
          expect(fake.cpings()).toBe(0);
          await live.update('sw=a1&vapt=1000');
          expect(await live.whoAll(3, '/app/x')).toEqual(['a1', 'a1', 'a1']);
          expect(fake.connections.at(-1)!.packets).toEqual(['cping', 'forward', 'cping', 'forward', 'cping', 'forward']);
        }),
      ),
  },
  vart: {
    shows: 'a slower backend now times out (504)',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1')), async (live) => {
        // undici checks its timeouts every half second or so: the backend is far slower than that.
        expect((await live.get('/app/slow?ms=2000')).status).toBe(200);
        await live.update('sw=n1&vart=200');
        expect((await live.get('/app/slow?ms=2000')).status).toBe(504);
      }),
  },
  var: {
    shows: 'a failing member is tried as many times as its new retries',
    needs: 'http',
    run: (b) =>
      withLive(workersFile([{ ...http(b, 'n1')[0], lines: ['fail_on_status=-503', 'retries=1'] }], ['retries=1']), async (live) => {
        let before = served(b, 'n1');
        expect((await live.get('/app/status/503')).status).toBe(503);
        expect(served(b, 'n1') - before).toBe(1);
        await live.update('sw=n1&var=3');
        before = served(b, 'n1');
        expect((await live.get('/app/status/503')).status).toBe(503);
        expect(served(b, 'n1') - before).toBe(3);
      }),
  },
  vari: {
    shows: 'the member waits the new retry_interval before trying again',
    needs: 'http',
    run: (b) =>
      withLive(workersFile([{ ...http(b, 'n1')[0], lines: ['fail_on_status=-503', 'retries=2', 'retry_interval=10'] }], ['retries=1']), async (live) => {
        let before = served(b, 'n1');
        await live.get('/app/status/503');
        expect(served(b, 'n1') - before).toBe(2);
        await live.update('sw=n1&vari=2500');
        before = served(b, 'n1');
        const pending = live.get('/app/status/503');
        await until(() => served(b, 'n1') - before === 1, 'the first try');
        await sleep(800);
        expect(served(b, 'n1') - before).toBe(1); // the second try waits 2.5 s
        await pending;
        expect(served(b, 'n1') - before).toBe(2);
      }),
  },
  vacpi: {
    shows: 'idle AJP connections are probed with CPing at maintenance',
    needs: 'ajp',
    run: () =>
      withFakeAjp('a1', (fake) =>
        withLive(workersFile([ajpMember(fake.port)]), async (live) => {
          expect(await live.who('/app/x')).toBe('a1');
          await sleep(2_500); // two maintenance runs without probes
          expect(fake.cpings()).toBe(0);
          await live.update('sw=a1&vacpi=1');
          expect(await live.who('/app/x')).toBe('a1');
          const conn = fake.connections.at(-1)!;
          await until(() => conn.packets.includes('cping'), 'an interval CPing on the idle connection');
          expect(conn.closed).toBe(false);
        }),
      ),
  },
  varo: {
    shows: 'a request the backend received and did not answer in time no longer fails over',
    needs: 'http',
    run: (b) =>
      withLive(
        workersFile(http(b, 'n1', 'n2').map((m) => ({ ...m, lines: ['reply_timeout=200'] })), ['retries=1', 'max_reply_timeouts=100']),
        async (live) => {
          let before = served(b, 'n2');
          expect((await live.get('/app/slow?ms=2500', sticky('n1'))).status).toBe(504);
          expect(served(b, 'n2') - before).toBe(1); // failed over after n1's timeout
          await live.update('sw=n1&varo=1');
          before = served(b, 'n2');
          expect((await live.get('/app/slow?ms=2500', sticky('n1'))).status).toBe(504);
          expect(served(b, 'n2') - before).toBe(0);
        },
      ),
  },
  vabl: {
    shows: 'a member at its new busy_limit sends its sticky requests elsewhere',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
        const whileBusy = async (): Promise<string> => {
          const before = served(b, 'n1');
          const slow = live.get('/app/slow?ms=2500', sticky('n1'));
          await until(() => served(b, 'n1') > before, 'the slow request to reach n1');
          const who = await live.who('/app/x', sticky('n1'));
          expect((await slow).status).toBe(200);
          return who;
        };
        expect(await whileBusy()).toBe('n1');
        await live.update('sw=n1&vabl=1');
        expect(await whileBusy()).toBe('n2');
      }),
  },
  vamps: {
    shows: 'a request head too big for 8 KiB packets (413) goes through with 16 KiB packets',
    needs: 'tomcat',
    run: (b) =>
      withLive(workersFile([{ name: 'tc', type: 'ajp13', port: b.tomcat!.ajpPort }]), async (live) => {
        const big = { 'x-big': 'b'.repeat(10_000) };
        expect((await live.get('/app/echo', big)).status).toBe(413);
        await live.update('sw=tc&vamps=16384');
        const r = await live.get('/app/echo', big);
        expect(r.status).toBe(200);
        expect(r.text).toContain(big['x-big']);
      }),
  },
  vwdi: {
    shows: 'a disabled member without sticky traffic stops itself after the new drain_idle_time',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
        await live.update('sw=n1&vwa=d');
        await sleep(2_200);
        expect(await live.who('/app/x', sticky('n1'))).toBe('n1'); // no drain policy: it keeps its sessions
        await live.update('sw=n1&vwdi=1');
        await until(async () => (await live.shown('n1', 'activation')) === 'STP', 'the drain policy to stop n1');
        expect(await live.who('/app/x', sticky('n1'))).toBe('n2');
      }),
  },
  vwdd: {
    shows: 'a disabled member stops itself at the new drain_deadline while its sticky traffic goes on',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
        await live.update('sw=n1&vwa=d');
        for (let i = 0; i < 10; i++) {
          expect(await live.who('/app/x', sticky('n1'))).toBe('n1');
          await sleep(150);
        }
        await live.update('sw=n1&vwdd=2');
        const deadline = Date.now() + 8_000;
        let who = 'n1';
        while (who === 'n1' && Date.now() < deadline) {
          who = await live.who('/app/x', sticky('n1'));
          await sleep(100);
        }
        expect(who).toBe('n2');
        expect(await live.shown('n1', 'activation')).toBe('STP');
      }),
  },
};

export const LB_CHECKS: Readonly<Record<string, WireCheck>> = {
  vls: {
    shows: 'without stickiness a session is balanced like any request',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
        expect(await live.whoAll(4, '/app/x', sticky('n1'))).toEqual(['n1', 'n1', 'n1', 'n1']);
        await live.update('vls=0');
        await live.command('cmd=reset'); // lb_values even again
        expect(new Set(await live.whoAll(4, '/app/x', sticky('n1')))).toEqual(new Set(['n1', 'n2']));
      }),
  },
  vlf: {
    shows: 'the session of a stopped member gets 503 instead of failing over',
    needs: 'http',
    run: (b) =>
      withLive(workersFile([{ ...http(b, 'n1')[0], lines: ['activation=S'] }, ...http(b, 'n2')]), async (live) => {
        expect(await live.who('/app/x', sticky('n1'))).toBe('n2');
        await live.update('vlf=1');
        expect((await live.get('/app/x', sticky('n1'))).status).toBe(503);
      }),
  },
  vlm: {
    shows: 'by Traffic, the member that sent a big reply gets no new requests for a while',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
        const afterDownload = async (): Promise<{ big: string; small: string[] }> => {
          await live.command('cmd=reset');
          const big = await live.who('/app/download?bytes=1000000');
          return { big, small: await live.whoAll(4, NOSESSION) };
        };
        const byRequest = await afterDownload();
        expect(new Set(byRequest.small)).toEqual(new Set(['n1', 'n2']));
        await live.update('vlm=t');
        const byTraffic = await afterDownload();
        const other = byTraffic.big === 'n1' ? 'n2' : 'n1';
        expect(byTraffic.small).toEqual([other, other, other, other]);
      }),
  },
  vll: {
    shows: 'nothing: jkbalancer has no shared memory to lock; routing is unchanged and the status shows the new lock',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
        await live.command('cmd=reset');
        expect(counts(await live.whoAll(4, NOSESSION))).toEqual({ n1: 2, n2: 2 });
        await live.update('vll=p');
        await live.command('cmd=reset');
        expect(counts(await live.whoAll(4, NOSESSION))).toEqual({ n1: 2, n2: 2 });
        expect(await live.shown(null, 'lock')).toBe('Pessimistic');
      }),
  },
  vlr: {
    shows: 'a request every member refuses goes round the members as many times as the new retries',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2').map((m) => ({ ...m, lines: ['fail_on_status=-503', 'retries=1'] })), ['retries=1']), async (live) => {
        let before = served(b, 'n1', 'n2');
        expect((await live.get('/app/status/503')).status).toBe(503);
        expect(served(b, 'n1', 'n2') - before).toBe(2);
        await live.update('vlr=3');
        before = served(b, 'n1', 'n2');
        expect((await live.get('/app/status/503')).status).toBe(503);
        expect(served(b, 'n1', 'n2') - before).toBe(6);
      }),
  },
  vlri: {
    shows: 'the next round waits the new retry_interval',
    needs: 'http',
    run: (b) =>
      withLive(workersFile([{ ...http(b, 'n1')[0], lines: ['fail_on_status=-503', 'retries=1'] }], ['retries=2', 'retry_interval=10']), async (live) => {
        let before = served(b, 'n1');
        await live.get('/app/status/503');
        expect(served(b, 'n1') - before).toBe(2);
        await live.update('vlri=2500');
        before = served(b, 'n1');
        const pending = live.get('/app/status/503');
        await until(() => served(b, 'n1') - before === 1, 'the first round');
        await sleep(800);
        expect(served(b, 'n1') - before).toBe(1); // the second round waits 2.5 s
        await pending;
        expect(served(b, 'n1') - before).toBe(2);
      }),
  },
  vlt: {
    shows: 'a member in error is tried again once the new recover_time has passed',
    needs: 'http',
    run: async (b) => {
      const port = await freePort(); // nothing listens here yet
      await withLive(workersFile([...http(b, 'n1'), { name: 'n2', port }], ['recover_time=3600']), async (live) => {
        expect(await live.whoAll(2, NOSESSION)).toEqual(['n1', 'n1']);
        expect(await live.shown('n2', 'state')).toBe('ERR');
        const revived = await startFakeTomcat('n2', port);
        try {
          await sleep(2_200); // two maintenance runs: recover_time 3600 s keeps it out
          expect(await live.whoAll(4, NOSESSION)).toEqual(['n1', 'n1', 'n1', 'n1']);
          await live.update('vlt=1');
          await until(async () => (await live.who(NOSESSION)) === 'n2', 'a request to reach the recovered member');
        } finally {
          await revived.close();
        }
      });
    },
  },
  vlee: {
    shows: 'an error while other requests are in flight puts the member in error after the new error_escalation_time',
    needs: 'http',
    run: (b) =>
      withLive(workersFile(http(b, 'n1', 'n2')), async (live) => {
        const before = served(b, 'n1');
        const slow = live.get('/app/slow?ms=6000', sticky('n1')); // keeps n1 busy
        await until(() => served(b, 'n1') > before, 'the slow request to reach n1');
        expect((await live.get('/app/die-mid-reply', sticky('n1'))).status).toBe(-1); // a read error on a busy member
        await sleep(2_200); // two maintenance runs: 30 s not yet reached
        expect(await live.shown('n1', 'state')).not.toBe('ERR');
        await live.update('vlee=1');
        await until(async () => (await live.shown('n1', 'state')) === 'ERR', 'maintenance to escalate the error');
        expect(await live.who('/app/x', sticky('n1'))).toBe('n2');
        expect((await slow).status).toBe(200);
      }),
  },
  vlx: {
    shows: 'a member survives as many reply timeouts as the new max_reply_timeouts',
    needs: 'http',
    run: (b) =>
      withLive(workersFile([{ ...http(b, 'n1')[0], lines: ['reply_timeout=200'] }, ...http(b, 'n2')]), async (live) => {
        expect(await live.who('/app/slow?ms=2000', sticky('n1'))).toBe('n2'); // n1 timed out: failed over
        expect(await live.who('/app/x', sticky('n1'))).toBe('n2'); // one timeout was too many
        await live.command('cmd=recover&sw=n1');
        await live.update('vlx=5');
        expect(await live.who('/app/slow?ms=2000', sticky('n1'))).toBe('n2');
        expect(await live.who('/app/x', sticky('n1'))).toBe('n1');
      }),
  },
};
