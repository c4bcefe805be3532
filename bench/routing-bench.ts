/**
 * Routing-core benchmark: full decision cycles (begin → next → startAttempt → endAttempt(success) →
 * next) per second for 3 and 100 members, sticky and session-less, plus heap bytes allocated per
 * cycle. Run: npm run bench:routing
 */
import { getHeapStatistics } from 'node:v8';
import { LB_DEFAULTS } from '../src/config/index.js';
import type { LbConfig, MemberConfig } from '../src/config/model.js';
import { Balancer } from '../src/routing/balancer.js';
import type { AttemptOutcome, RequestView } from '../src/routing/types.js';

function member(name: string, lbfactor: number): MemberConfig {
  return {
    name, type: 'ajp13', host: 'localhost', port: 8009, tls: false, source: '',
    lbfactor, distance: 0, route: name, domain: '', redirect: '', activation: 'ACT',
    socketTimeoutSec: 0, socketConnectTimeoutMs: 0, socketKeepalive: false,
    connectionPoolSize: 64, connectionPoolMinsize: 32, connectionPoolTimeoutSec: 0, connectionAcquireTimeoutMs: 200,
    ping: { connectTimeoutMs: 0, prepostTimeoutMs: 0, intervalSec: 0, pingTimeoutMs: 10000, mode: '' },
    replyTimeoutMs: 0, retries: 2, retryIntervalMs: 100, recoveryOptions: 0, failOnStatus: [], busyLimit: 0,
    maxPacketSize: 8192, secret: '', drainIdleSec: 0, drainDeadlineSec: 0, healthCheck: null,
    source_ref: { file: 'bench', line: 0 },
  };
}

function lb(n: number): LbConfig {
  return {
    ...LB_DEFAULTS,
    name: 'lb', type: 'lb', members: Array.from({ length: n }, (_, i) => member(`node${i + 1}`, 1 + (i % 3))),
    secret: '', mounts: [], source_ref: { file: 'bench', line: 0 },
  };
}

const SUCCESS: AttemptOutcome = { kind: 'success', status: 200, responseStarted: false, bodyReplayable: true, bytesSent: 512, bytesReceived: 4096 };

/** One full decision cycle; returns the member so the work cannot be optimised away. */
function cycle(b: Balancer, v: RequestView): number {
  const r = b.begin(v);
  const s = b.next(r);
  if (s.kind !== 'attempt') throw new Error(`unexpected step ${s.kind}`);
  b.startAttempt(r, s.member);
  b.endAttempt(r, s.member, SUCCESS);
  if (b.next(r).kind !== 'done') throw new Error('request did not finish');
  return s.member;
}

function views(n: number, sticky: boolean): RequestView[] {
  const base = { method: 'GET', path: '/app/page', secure: false, rule: null };
  if (!sticky) return [{ ...base, cookies: ['theme=dark'] }];
  // Realistic Tomcat ids: 32 hex chars + '.' + route, among another cookie.
  return Array.from({ length: n }, (_, i) => ({
    ...base,
    cookies: [`theme=dark; JSESSIONID=0123456789ABCDEF0123456789ABCDEF.node${i + 1}`],
  }));
}

function run(n: number, sticky: boolean): { perSec: number; bytesPerCycle: number } {
  const b = new Balancer(lb(n), { maintainSec: 60, clock: { now: () => Date.now() } });
  const vs = views(n, sticky);
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += cycle(b, vs[i % vs.length]); // warm-up (JIT)

  const cycles = n > 10 ? 400_000 : 2_000_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < cycles; i++) sink += cycle(b, vs[i % vs.length]);
  const ns = Number(process.hrtime.bigint() - t0);

  // Heap growth over small batches; a batch during which a GC ran shows a drop and is skipped.
  const deltas: number[] = [];
  const batch = 1000;
  for (let k = 0; k < 300; k++) {
    const before = getHeapStatistics().used_heap_size;
    for (let i = 0; i < batch; i++) sink += cycle(b, vs[i % vs.length]);
    const d = getHeapStatistics().used_heap_size - before;
    if (d >= 0) deltas.push(d);
  }
  deltas.sort((x, y) => x - y);
  if (sink === -1) console.log(sink);
  return { perSec: (cycles / ns) * 1e9, bytesPerCycle: deltas[deltas.length >> 1] / batch };
}

console.log(`routing core, node ${process.version}: full cycles begin→next→startAttempt→endAttempt(success)→next`);
console.log('members  traffic        cycles/s     heap bytes/cycle');
for (const n of [3, 100]) {
  for (const sticky of [true, false]) {
    const { perSec, bytesPerCycle } = run(n, sticky);
    console.log(
      `${String(n).padStart(7)}  ${(sticky ? 'sticky' : 'session-less').padEnd(12)} ${Math.round(perSec).toLocaleString('en-US').padStart(12)}  ${bytesPerCycle.toFixed(0).padStart(8)}`,
    );
  }
}
console.log(
  'Allocation per cycle is the result objects only: the LbRequest, the AttemptInfo and the done step;\n' +
    'sticky cycles add the session id string and the route substring looked up in the route map.\n' +
    'Attempt steps are shared per member and the local-state arrays are pooled.',
);
