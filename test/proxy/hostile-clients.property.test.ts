/**
 * Hostile clients, generated: a running balancer (three http members on node:http backends, pools of
 * two so they saturate) is driven over raw sockets with request sequences fast-check makes up —
 * partial bodies, hang-ups at every phase, stalls, pipelining, duplicate Host headers, malformed
 * headers, bad chunked framing, sticky cookies, absolute-form targets.
 *
 * After every case, whatever the clients did:
 * - nothing escaped: no uncaught exception or unhandled rejection, no error logged from inside the balancer;
 * - no member was blamed: every member is still OK (a client's fault is never a member's), with no error
 *   counted, and answers its own sticky request;
 * - nothing is left behind: no attempt in flight, no request open on a backend, every backend connection
 *   is one the member's pool holds (idle), no client connection open on the listener.
 *
 * Each case gets a fresh balancer and fresh backends, so a counterexample shrinks on its own.
 * A failure prints fast-check's seed and path: JKB_FC_SEED=<seed> reruns the same cases, adding JKB_FC_PATH=<path>
 * replays just the counterexample; JKB_FC_RUNS=<n> runs more (or fewer) cases.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ListenerLimits } from '../../src/proxy/limits.js';
import { State, STATE_NAMES, type StateCode } from '../../src/routing/types.js';
import { httpFarm, startBalancer, type TestBalancer } from '../helpers/balancer.js';
import { startCountingBackend, type CountingBackend } from '../helpers/counting-backend.js';
import { RawClient, type RawResponse } from '../helpers/raw-http.js';
import { recordEscapes } from '../helpers/escapes.js';

const MEMBERS = ['n1', 'n2', 'n3'] as const;
type Member = (typeof MEMBERS)[number];
const POOL = 2;
/** Short limits so every stall ends quickly. */
const LIMITS: ListenerLimits = { headerTimeoutMs: 300, bodyIdleTimeoutMs: 300, maxConnections: 500 };
/** A request that must be answered is answered within this (many times the limits above). */
const ANSWER_MS = 4000;
/** After the clients are gone, every count is back where it belongs within this. */
const SETTLE_MS = 3000;
/** The longest a whole case may take (clients, settling, probes, stopping). */
const CASE_MS = 25_000;
/** A member's pool wait long enough never to expire here: responses are then exactly predictable. */
const PATIENT = MEMBERS.map((m) => `worker.${m}.connection_acquire_timeout=20000`).join('\n');
/** mod_jk's default pool wait (retries × retry_interval): saturated pools make requests move on or get 503. */
const IMPATIENT = '';

const SEED = process.env.JKB_FC_SEED ? Number(process.env.JKB_FC_SEED) : undefined;
const RUNS = process.env.JKB_FC_RUNS ? Number(process.env.JKB_FC_RUNS) : undefined;
/** With JKB_FC_SEED, replays the one failing case fast-check printed (its `path`). */
const PATH = process.env.JKB_FC_PATH;

function fcParams<T>(numRuns: number): fc.Parameters<T> {
  return {
    numRuns: RUNS ?? numRuns,
    ...(SEED !== undefined ? { seed: SEED } : {}),
    ...(SEED !== undefined && PATH !== undefined ? { path: PATH } : {}),
    // Every wait in a case is bounded (a few seconds); a case still running after this hung somewhere.
    timeout: CASE_MS,
    // A failing case can take seconds (it waits out its bounds): cap the shrinking. Running out of
    // time is a failure too, so a hang can never pass unnoticed.
    interruptAfterTimeLimit: 60_000,
    markInterruptAsFailure: true,
  };
}

// ------------------------------------------------------------------ the model of a client

type Body = { kind: 'none' } | { kind: 'length'; size: number } | { kind: 'chunked'; chunks: number[] };

/** Header lines Node's parser refuses (400 before any member is chosen). */
const MALFORMED = [
  'no-colon', 'space-in-name', 'ctl-in-value', 'obs-fold', 'space-before-colon', 'huge-header', 'no-host',
  'bad-method', 'dup-content-length', 'te-and-content-length',
] as const;
type Malformed = (typeof MALFORMED)[number];
/** Chunked framings that are not HTTP. */
const BAD_CHUNKS = ['bad-size', 'missing-crlf', 'negative-size', 'huge-size'] as const;
type BadChunk = (typeof BAD_CHUNKS)[number];

type Twist =
  | { kind: 'none' }
  /** Two Host header lines: RFC 9112 §3.2 says 400. */
  | { kind: 'dup-host'; second: 'same' | 'other' | 'lower-case' }
  | { kind: 'malformed'; variant: Malformed }
  | { kind: 'bad-chunk'; variant: BadChunk };

interface Req {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  /** Path and query below /app. */
  readonly path: string;
  readonly sticky: Member | null;
  /** `GET http://host:port/app/… HTTP/1.1` (RFC 9112 §3.2.2: a server MUST accept it). */
  readonly absolute: boolean;
  readonly body: Body;
  readonly expect100: boolean;
  readonly twist: Twist;
}

type Phase = 'mid-head' | 'after-head' | 'mid-body' | 'after-request' | 'mid-reply';
type Fate =
  /** Send everything, read every reply. */
  | { kind: 'complete' }
  /** Hang up at a phase of the last request, `delayMs` after sending what that phase sends. */
  | { kind: 'hangup'; phase: Phase; cut: number; delayMs: number; how: 'destroy' | 'reset' | 'half-close' }
  /** Send part of the last request's head or body, then nothing, and keep the connection open. */
  | { kind: 'stall'; phase: 'mid-head' | 'mid-body'; cut: number };

/** One client connection: requests pipelined on it (only the last one is twisted) and how it ends. */
interface Script {
  readonly delayMs: number;
  readonly requests: readonly Req[];
  readonly fate: Fate;
}

// ------------------------------------------------------------------ generators

/** Biased to n1, so concurrent clients pile onto one member's pool of two. */
const member = fc.constantFrom<Member>('n1', 'n1', 'n1', 'n2', 'n3');
const sticky = fc.option(member, { nil: null, freq: 4 });
const noTwist: Twist = { kind: 'none' };
const slowPath = fc.integer({ min: 0, max: 100 }).map((ms) => `/slow?ms=${ms}`);
const bigPath = fc.integer({ min: 1, max: 200_000 }).map((n) => `/big?bytes=${n}`);
const lengthBody = fc.integer({ min: 0, max: 70_000 }).map((size): Body => ({ kind: 'length', size }));
const chunkedBody = fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 0, maxLength: 4 }).map((chunks): Body => ({ kind: 'chunked', chunks }));

/**
 * A request any HTTP/1.1 server must serve. Absolute-form targets are left out of the background
 * traffic and get a property of their own, so a defect there shows up there instead of masking
 * everything else.
 */
function wellFormedWith(o: { absolute: fc.Arbitrary<boolean>; expect100: fc.Arbitrary<boolean> }): fc.Arbitrary<Req> {
  return fc.oneof(
    fc.record({
      method: fc.constantFrom('GET' as const, 'HEAD' as const),
      path: fc.oneof(fc.constant('/echo'), slowPath, bigPath),
      sticky,
      absolute: o.absolute,
      body: fc.constant<Body>({ kind: 'none' }),
      expect100: fc.constant(false),
      twist: fc.constant(noTwist),
    }),
    fc.record({
      method: fc.constantFrom('POST' as const, 'PUT' as const),
      path: fc.oneof(fc.constant('/echo'), slowPath),
      sticky,
      absolute: o.absolute,
      body: fc.oneof(lengthBody, chunkedBody),
      expect100: o.expect100,
      twist: fc.constant(noTwist),
    }),
  );
}
const wellFormed = wellFormedWith({ absolute: fc.constant(false), expect100: fc.constant(false) });
const mixedTargets = wellFormedWith({ absolute: fc.boolean(), expect100: fc.constant(false) });
const mixedExpect = wellFormedWith({ absolute: fc.constant(false), expect100: fc.boolean() });

const dupHost: fc.Arbitrary<Req> = fc
  .tuple(wellFormed, fc.constantFrom('same' as const, 'other' as const, 'lower-case' as const))
  .map(([r, second]) => ({ ...r, twist: { kind: 'dup-host', second } }));
const malformed: fc.Arbitrary<Req> = fc
  .tuple(wellFormed, fc.constantFrom(...MALFORMED))
  .map(([r, variant]) => ({ ...r, absolute: false, twist: { kind: 'malformed', variant } }));
const badChunk: fc.Arbitrary<Req> = fc.tuple(wellFormed, fc.constantFrom(...BAD_CHUNKS)).map(([r, variant]) => ({
  ...r,
  method: 'POST' as const,
  path: '/echo',
  body: { kind: 'chunked', chunks: [3] } as Body,
  twist: { kind: 'bad-chunk', variant },
}));

const cut = fc.integer({ min: 1, max: 999 });
const hangup: fc.Arbitrary<Fate> = fc.record({
  kind: fc.constant('hangup' as const),
  phase: fc.constantFrom<Phase>('mid-head', 'after-head', 'mid-body', 'after-request', 'mid-reply'),
  cut,
  delayMs: fc.integer({ min: 0, max: 100 }),
  how: fc.constantFrom('destroy' as const, 'reset' as const, 'half-close' as const),
});
const stall: fc.Arbitrary<Fate> = fc.record({ kind: fc.constant('stall' as const), phase: fc.constantFrom('mid-head' as const, 'mid-body' as const), cut });
const complete: fc.Arbitrary<Fate> = fc.constant({ kind: 'complete' });

/**
 * recovery_options: 0 (mod_jk's default) fails a request over to every member in turn, so one bad
 * request could fault them all; 3 never fails over; 4 closes the backend connection on client errors.
 */
const recovery = fc.constantFrom(0, 3, 4).map((v) => (v === 0 ? '' : MEMBERS.map((m) => `worker.${m}.recovery_options=${v}`).join('\n')));

/**
 * A client script: `pipelined` well-formed requests (none by default) before the `last` one, which
 * meets the fate. Malformed requests and bad chunking always go alone on their connection (the
 * parser's 400 ends it).
 */
function script(last: fc.Arbitrary<Req>, fate: fc.Arbitrary<Fate>, o: { pipelined?: readonly [number, number]; before?: fc.Arbitrary<Req> } = {}): fc.Arbitrary<Script> {
  const [minLength, maxLength] = o.pipelined ?? [0, 0];
  return fc
    .record({ delayMs: fc.integer({ min: 0, max: 50 }), prefix: fc.array(o.before ?? wellFormed, { minLength, maxLength }), last, fate })
    .map(({ delayMs, prefix, last: l, fate: f }) => normalize({ delayMs, requests: [...(l.twist.kind === 'malformed' || l.twist.kind === 'bad-chunk' ? [] : prefix), l], fate: f }));
}

/** Make the fate fit the last request: a mid-body phase needs a body to cut, mid-reply a long reply. */
function normalize(s: Script): Script {
  const last = s.requests[s.requests.length - 1];
  const f = s.fate;
  let fixed = last;
  if (f.kind !== 'complete' && f.phase === 'mid-body' && bodyBytes(last).length < 2) {
    fixed = { ...last, method: last.method === 'PUT' ? 'PUT' : 'POST', path: '/echo', body: { kind: 'length', size: 1000 + f.cut * 10 } };
  }
  if (f.kind === 'hangup' && f.phase === 'mid-reply' && last.twist.kind === 'none') fixed = { ...fixed, method: 'GET', path: '/big?bytes=1000000', body: { kind: 'none' } };
  return fixed === last ? s : { ...s, requests: [...s.requests.slice(0, -1), fixed] };
}

// ------------------------------------------------------------------ bytes on the wire

function head(r: Req, port: number): Buffer {
  const authority = `127.0.0.1:${port}`;
  const t = r.twist;
  const method = t.kind === 'malformed' && t.variant === 'bad-method' ? 'G@T' : r.method;
  const lines = [`${method} ${r.absolute ? `http://${authority}` : ''}/app${r.path} HTTP/1.1`];
  if (!(t.kind === 'malformed' && t.variant === 'no-host')) lines.push(`Host: ${authority}`);
  if (t.kind === 'dup-host') lines.push(t.second === 'other' ? 'Host: evil.example' : `${t.second === 'same' ? 'Host' : 'host'}: ${authority}`);
  if (r.sticky) lines.push(`Cookie: JSESSIONID=x.${r.sticky}`);
  if (r.body.kind === 'length') lines.push(`Content-Length: ${r.body.size}`);
  if (r.body.kind === 'chunked') lines.push('Transfer-Encoding: chunked');
  if (r.expect100) lines.push('Expect: 100-continue');
  if (t.kind === 'malformed') {
    const extra: Record<Malformed, string | null> = {
      'no-colon': 'BadHeader',
      'space-in-name': 'Bad Header: x',
      'ctl-in-value': 'X-Bad: a\x01b',
      'obs-fold': 'X-Folded: a\r\n b',
      'space-before-colon': 'X-Bad : b',
      'huge-header': `X-Huge: ${'a'.repeat(20_000)}`,
      'no-host': null,
      'bad-method': null,
      'dup-content-length': r.body.kind === 'length' ? `Content-Length: ${r.body.size + 1}` : 'Content-Length: 0\r\nContent-Length: 0',
      'te-and-content-length':
        r.body.kind === 'chunked' ? 'Content-Length: 5' : r.body.kind === 'length' ? 'Transfer-Encoding: chunked' : 'Content-Length: 0\r\nTransfer-Encoding: chunked',
    };
    const line = extra[t.variant];
    if (line !== null) lines.push(line);
  }
  lines.push('', '');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

function bodyBytes(r: Req): Buffer {
  const b = r.body;
  if (r.twist.kind === 'bad-chunk') {
    const bad: Record<BadChunk, string> = {
      'bad-size': 'zz\r\nabc\r\n0\r\n\r\n',
      'missing-crlf': '3\r\nabcXX0\r\n\r\n',
      'negative-size': '-1\r\nabc\r\n0\r\n\r\n',
      'huge-size': 'fffffffffffffffffff\r\nabc\r\n0\r\n\r\n',
    };
    return Buffer.from(bad[r.twist.variant], 'latin1');
  }
  if (b.kind === 'none') return Buffer.alloc(0);
  if (b.kind === 'length') return Buffer.alloc(b.size, 0x61);
  const parts: Buffer[] = [];
  for (const n of b.chunks) parts.push(Buffer.from(`${n.toString(16)}\r\n`), Buffer.alloc(n, 0x63), Buffer.from('\r\n'));
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** Bytes of the body the backend should count for a well-formed request. */
function payloadSize(r: Req): number {
  if (r.body.kind === 'length') return r.body.size;
  if (r.body.kind === 'chunked') return r.body.chunks.reduce((a, n) => a + n, 0);
  return 0;
}

const sliceOf = (b: Buffer, perMille: number): Buffer => b.subarray(0, Math.min(b.length - 1, Math.max(1, Math.floor((b.length * perMille) / 1000))));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ one case

interface Rig {
  readonly lb: TestBalancer;
  readonly backends: readonly CountingBackend[];
}

async function startRig(extra: string): Promise<Rig> {
  const backends = await Promise.all(MEMBERS.map((m) => startCountingBackend(m)));
  const ports = Object.fromEntries(MEMBERS.map((m, i) => [m, backends[i].port]));
  const lines = [...MEMBERS.map((m) => `worker.${m}.connection_pool_size=${POOL}`), extra].join('\n');
  try {
    const lb = await startBalancer(httpFarm(ports, lines), '/app/*=lb\n', { limits: LIMITS });
    return { lb, backends };
  } catch (err) {
    await Promise.all(backends.map((b) => b.close()));
    throw err;
  }
}

/** Stops the balancer (a stop that never finishes is a failure: something is held open) and the backends. */
async function stopRig(rig: Rig): Promise<void> {
  const stopMs = 6000;
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    rig.lb.close().then(() => true),
    new Promise<false>((r) => (timer = setTimeout(() => r(false), stopMs))),
  ]);
  clearTimeout(timer);
  const left = stopped ? [] : leftBehind(rig);
  await Promise.all(rig.backends.map((b) => b.close()));
  if (!stopped) throw new Error(`the balancer did not stop within ${stopMs} ms (${left.join('; ') || 'nothing in flight'})`);
}

interface Ran {
  readonly script: Script;
  readonly client: RawClient | null;
  /** The fate's wait ended (answered, or connection closed) within its bound. */
  readonly ended: boolean;
}

async function runScript(port: number, s: Script, clients: RawClient[]): Promise<Ran> {
  await sleep(s.delayMs);
  const client = await RawClient.connect(port, s.requests.map((r) => r.method));
  clients.push(client);
  const n = s.requests.length;
  const last = s.requests[n - 1];
  const prefix = Buffer.concat(s.requests.slice(0, -1).flatMap((r) => [head(r, port), bodyBytes(r)]));
  const lastHead = head(last, port);
  const lastBody = bodyBytes(last);
  const answered = () => client.responses.length >= n || client.closed;
  const f = s.fate;
  if (f.kind === 'complete') {
    await client.write(Buffer.concat([prefix, lastHead, lastBody]));
    return { script: s, client, ended: await client.waitFor(answered, ANSWER_MS) };
  }
  const sent =
    f.phase === 'mid-head' ? sliceOf(lastHead, f.cut)
    : f.phase === 'after-head' ? lastHead
    : f.phase === 'mid-body' ? Buffer.concat([lastHead, sliceOf(lastBody, f.cut)])
    : Buffer.concat([lastHead, lastBody]);
  await client.write(Buffer.concat([prefix, sent]));
  if (f.kind === 'stall') return { script: s, client, ended: await client.waitFor(answered, ANSWER_MS) };
  if (f.phase === 'mid-reply') await client.waitFor(() => (client.responses.length === n - 1 && client.parser.partial > 0) || answered(), ANSWER_MS);
  await sleep(f.delayMs);
  if (f.how === 'destroy') client.destroy();
  else if (f.how === 'reset') client.reset();
  else {
    client.end();
    await client.waitFor(() => client.closed, 500);
  }
  return { script: s, client, ended: true };
}

/** How strictly replies are checked: `exact` when pools wait long enough that nothing moves on. */
type Strictness = 'exact' | 'saturated';

/** What a client had every right to get back; problems as text. */
function checkReplies(ran: Ran, strictness: Strictness): string[] {
  const { script: s, client } = ran;
  if (client === null) return ['the client could not connect'];
  const problems: string[] = [];
  const n = s.requests.length;
  const got = client.responses;
  const last = s.requests[n - 1];
  const who = `client ${JSON.stringify(s.requests.map(show))} (${s.fate.kind}${s.fate.kind === 'complete' ? '' : ` ${s.fate.phase}`})`;
  if (client.parser.error) problems.push(`${who}: unparseable reply: ${client.parser.error}`);
  if (s.fate.kind === 'hangup') return problems;

  const servedReqs = s.fate.kind === 'stall' ? s.requests.slice(0, -1) : last.twist.kind === 'none' ? s.requests : s.requests.slice(0, -1);
  servedReqs.forEach((r, i) => {
    const res = got[i];
    if (res === undefined) {
      problems.push(`${who}: request ${i + 1} (${show(r)}) got no reply within ${ANSWER_MS} ms`);
      return;
    }
    const p = checkServed(r, res, strictness);
    if (p) problems.push(`${who}: request ${i + 1} (${show(r)}): ${p}`);
  });

  const lastRes: RawResponse | undefined = got[n - 1];
  if (s.fate.kind === 'stall') {
    // The stall must end (a 408 or the connection closed), and never with a member's reply.
    if (!ran.ended) problems.push(`${who}: a stalled ${s.fate.phase === 'mid-head' ? 'request head' : 'request body'} was neither answered nor closed within ${ANSWER_MS} ms (limits: ${LIMITS.headerTimeoutMs}/${LIMITS.bodyIdleTimeoutMs} ms)`);
    // What was sent of a malformed request may already be refused (400) before the stall.
    const allowed = (status: number) => status === 408 || (strictness === 'saturated' && status === 503) || (last.twist.kind !== 'none' && status >= 400 && status < 500);
    if (lastRes && !(allowed(lastRes.status) && lastRes.headers['x-instance'] === undefined)) {
      problems.push(`${who}: a stalled request got ${summary(lastRes)}, expected 408${strictness === 'saturated' ? ' or 503' : ''}${last.twist.kind !== 'none' ? ' or a 4xx' : ''} from the balancer, or a close`);
    }
    return problems;
  }
  if (last.twist.kind === 'dup-host') {
    if (!lastRes) problems.push(`${who}: a request with two Host headers got no reply within ${ANSWER_MS} ms`);
    else if (lastRes.status !== 400 || lastRes.headers['x-instance'] !== undefined) problems.push(`${who}: a request with two Host headers got ${summary(lastRes)}, expected the balancer's own 400`);
  } else if (last.twist.kind !== 'none') {
    if (!ran.ended) problems.push(`${who}: a malformed request was neither answered nor closed within ${ANSWER_MS} ms`);
    if (lastRes && !(lastRes.status >= 400 && lastRes.status < 500 && lastRes.headers['x-instance'] === undefined)) problems.push(`${who}: a malformed request got ${summary(lastRes)}, expected a 4xx from the balancer`);
    if (got.length > n) problems.push(`${who}: ${got.length} replies to ${n} requests`);
  }
  return problems;
}

/** A well-formed request's reply: 200 from the member it is pinned to, with everything it sent. */
function checkServed(r: Req, res: RawResponse, strictness: Strictness): string | null {
  const instance = res.headers['x-instance'];
  if (strictness === 'saturated' && res.status === 503 && instance === undefined) return null; // every pool busy: our own 503 is mod_jk's answer
  if (res.status !== 200 || instance === undefined) return `got ${summary(res)}, expected 200 from a member`;
  if (strictness === 'exact' && r.sticky !== null && instance !== r.sticky) return `pinned to ${r.sticky} but served by ${instance}`;
  if (r.method === 'HEAD') return null;
  if (r.path.startsWith('/big')) {
    const bytes = Number(new URL(r.path, 'http://x').searchParams.get('bytes'));
    return res.body.length === bytes ? null : `reply body ${res.body.length} bytes, expected ${bytes}`;
  }
  let seen: number;
  try {
    seen = (JSON.parse(res.body.toString('latin1')) as { bytes: number }).bytes;
  } catch {
    return `the reply body is not the member's: ${JSON.stringify(res.body.toString('latin1').slice(0, 200))}`;
  }
  return seen === payloadSize(r) ? null : `the member received ${seen} body bytes of ${payloadSize(r)}`;
}

function summary(res: RawResponse): string {
  return `${res.status}${res.headers['x-instance'] ? ` from ${res.headers['x-instance']}` : ''} ${JSON.stringify(res.body.toString('latin1').slice(0, 100))}`;
}

function show(r: Req): string {
  const t = r.twist.kind === 'none' ? '' : ` [${r.twist.kind}${'variant' in r.twist ? `:${r.twist.variant}` : 'second' in r.twist ? `:${r.twist.second}` : ''}]`;
  const b = r.body.kind === 'length' ? ` cl=${r.body.size}` : r.body.kind === 'chunked' ? ` chunked=${r.body.chunks.join('+')}` : '';
  return `${r.method} ${r.absolute ? 'http://…' : ''}/app${r.path}${r.sticky ? ` →${r.sticky}` : ''}${b}${r.expect100 ? ' expect-100' : ''}${t}`;
}

// ------------------------------------------------------------------ invariants after a case

const escaped = recordEscapes();

/** States a client may leave a member in: OK, OK/IDLE (never used) and OK/BUSY (pool saturated, released at the next request). */
const UNBLAMED: ReadonlySet<StateCode> = new Set([State.IDLE, State.OK, State.BUSY]);

function blame(rig: Rig): string[] {
  const bal = rig.lb.app.farm.balancers.get('lb')!;
  return bal.members.filter((m) => !UNBLAMED.has(m.state) || m.errors > 0).map((m) => `member ${m.name} is ${STATE_NAMES[m.state]} with ${m.errors} error(s)`);
}

function leftBehind(rig: Rig): string[] {
  const entry = rig.lb.app.farm.entries.get('lb');
  if (entry?.kind !== 'lb') throw new Error('no lb entry');
  const bal = entry.balancer;
  const out: string[] = [];
  if (bal.lb.busy !== 0) out.push(`lb busy ${bal.lb.busy}`);
  bal.members.forEach((m, i) => {
    const b = rig.backends[i];
    const pooled = entry.transports[i].connected;
    if (m.busy !== 0) out.push(`${m.name}: ${m.busy} attempt(s) in flight`);
    if (b.inFlight !== 0) out.push(`${m.name}: ${b.inFlight} request(s) still open on the backend`);
    if (b.openConnections !== pooled) out.push(`${m.name}: backend has ${b.openConnections} connection(s), the pool holds ${pooled}`);
    if (b.openConnections > POOL) out.push(`${m.name}: backend has ${b.openConnections} connection(s), more than the pool size ${POOL}`);
  });
  return out;
}

async function listenerConnections(rig: Rig): Promise<number> {
  return new Promise((resolve, reject) => rig.lb.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

/** Polls until nothing is left behind; returns what still is after SETTLE_MS. */
async function settle(rig: Rig): Promise<string[]> {
  const end = Date.now() + SETTLE_MS;
  for (;;) {
    const open = await listenerConnections(rig);
    const left = [...leftBehind(rig), ...(open > 0 ? [`${open} client connection(s) still open on the listener after every client closed`] : [])];
    if (left.length === 0 || Date.now() > end) return left;
    await sleep(20);
  }
}

/** Each member still answers its own sticky request. */
async function probe(rig: Rig): Promise<string[]> {
  const out: string[] = [];
  await Promise.all(
    MEMBERS.map(async (m) => {
      const c = await RawClient.connect(rig.lb.port, ['GET']);
      try {
        await c.write(Buffer.from(`GET /app/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: JSESSIONID=probe.${m}\r\nConnection: close\r\n\r\n`));
        await c.waitFor(() => c.responses.length > 0 || c.closed, ANSWER_MS);
        const res = c.responses[0];
        if (!res) out.push(`member ${m} did not answer its sticky request after the case`);
        else if (res.status !== 200 || res.headers['x-instance'] !== m) out.push(`member ${m}'s sticky request got ${summary(res)} after the case`);
      } finally {
        c.destroy();
      }
    }),
  );
  return out;
}

function internalErrors(rig: Rig): string[] {
  return rig.lb.logs.filter((l) => (l.level as number) >= 50).map((l) => `logged at level ${String(l.level)}: ${String(l.msg)} ${JSON.stringify(l.err ?? '')}`.slice(0, 300));
}

/** Runs the clients concurrently against a fresh balancer and checks every invariant. */
async function runCase(scripts: readonly Script[], config: string, strictness: Strictness): Promise<void> {
  escaped.length = 0;
  const rig = await startRig(config);
  const clients: RawClient[] = [];
  const problems: string[] = [];
  try {
    const ran = await Promise.all(scripts.map((s) => runScript(rig.lb.port, s, clients)));
    for (const r of ran) problems.push(...checkReplies(r, strictness));
    for (const c of clients) c.destroy();
    problems.push(...(await settle(rig)).map((p) => `left behind: ${p}`));
    problems.push(...blame(rig).map((p) => `blamed: ${p}`));
    if (problems.length === 0) problems.push(...(await probe(rig)));
    problems.push(...internalErrors(rig));
  } finally {
    for (const c of clients) c.destroy();
    await stopRig(rig).catch((err: unknown) => problems.push(String(err)));
  }
  problems.push(...escaped.map((e) => `escaped: ${e instanceof Error ? (e.stack ?? e.message).split('\n').slice(0, 4).join(' | ') : String(e)}`));
  expect(problems).toEqual([]);
}

// ------------------------------------------------------------------ the properties

describe('hostile clients (property)', () => {

  it('partial bodies and hang-ups at every phase, on saturated pools, crash nothing, blame no member, leave nothing behind', { timeout: 120_000 }, async () => {
    const hangingUp = script(fc.oneof(wellFormed, dupHost), hangup);
    const busy = script(wellFormed, complete, { pipelined: [0, 1] });
    const clients = fc.array(fc.oneof({ arbitrary: hangingUp, weight: 3 }, { arbitrary: busy, weight: 1 }), { minLength: 1, maxLength: 6 });
    await fc.assert(fc.asyncProperty(clients, recovery, (c, extra) => runCase(c, `${PATIENT}\n${extra}`, 'exact')), fcParams(40));
  });

  it('stalled request heads and bodies end within the limits, and the member keeps serving its sticky users', { timeout: 120_000 }, async () => {
    const stalling = script(wellFormed, stall);
    const waiting = script(wellFormed.map((r) => ({ ...r, sticky: 'n1' as const })), complete, { pipelined: [0, 1] }).map((s) => ({ ...s, delayMs: s.delayMs + 50 }));
    const clients = fc.tuple(fc.array(stalling, { minLength: 1, maxLength: 4 }), fc.array(waiting, { maxLength: 2 })).map(([a, b]) => [...a, ...b]);
    await fc.assert(fc.asyncProperty(clients, (c) => runCase(c, PATIENT, 'exact')), fcParams(16));
  });

  it('duplicate Host headers, malformed headers and bad chunked framing are answered 4xx and never blamed on a member', { timeout: 120_000 }, async () => {
    const hostile = script(fc.oneof(dupHost, malformed, badChunk), complete, { pipelined: [0, 2] });
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 3 }), recovery, (c, extra) => runCase(c, `${PATIENT}\n${extra}`, 'exact')),
      fcParams(30),
    );
  });

  it('pipelined requests are answered in order, each by the member it is pinned to', { timeout: 120_000 }, async () => {
    const pipelined = script(wellFormed, complete, { pipelined: [0, 3] });
    await fc.assert(fc.asyncProperty(fc.array(pipelined, { minLength: 1, maxLength: 3 }), (c) => runCase(c, PATIENT, 'exact')), fcParams(25));
  });

  it('absolute-form targets (RFC 9112 §3.2.2: a server MUST accept them) are served like origin-form ones', { timeout: 120_000 }, async () => {
    const pipelined = script(mixedTargets, complete, { pipelined: [0, 2], before: mixedTargets });
    await fc.assert(fc.asyncProperty(fc.array(pipelined, { minLength: 1, maxLength: 2 }), (c) => runCase(c, PATIENT, 'exact')), fcParams(15));
  });

  it('pipelined connections that hang up or stall leave nothing behind', { timeout: 120_000 }, async () => {
    const pipelined = script(fc.oneof(wellFormed, dupHost), fc.oneof(hangup, stall), { pipelined: [1, 2] });
    await fc.assert(fc.asyncProperty(fc.array(pipelined, { minLength: 1, maxLength: 3 }), (c) => runCase(c, PATIENT, 'exact')), fcParams(25));
  });

  it('Expect: 100-continue, pipelined or not, never corrupts the framing of the replies', { timeout: 120_000 }, async () => {
    const pipelined = script(mixedExpect, complete, { pipelined: [0, 2], before: mixedExpect });
    await fc.assert(fc.asyncProperty(fc.array(pipelined, { minLength: 1, maxLength: 2 }), (c) => runCase(c, PATIENT, 'exact')), fcParams(20));
  });

  it("everything at once, with mod_jk's default pool wait (saturated members move on or answer 503)", { timeout: 120_000 }, async () => {
    const last = fc.oneof({ arbitrary: wellFormed, weight: 3 }, { arbitrary: dupHost, weight: 1 }, { arbitrary: malformed, weight: 1 }, { arbitrary: badChunk, weight: 1 });
    const any = fc.oneof(script(last, complete, { pipelined: [0, 2] }), script(last, fc.oneof(hangup, stall)));
    await fc.assert(fc.asyncProperty(fc.array(any, { minLength: 1, maxLength: 6 }), (c) => runCase(c, IMPATIENT, 'saturated')), fcParams(30));
  });
});
