/**
 * `npm run soak`: jkbalancer under load while its members die and come back and clients misbehave,
 * all on 127.0.0.1, bounded in time. It runs `jkbalancer start` as its own process (as an operator
 * would), three backends as their own processes, and from this process:
 *   - autocannon load: session-less GETs, sticky GETs pinned to each member, and uploads (POST);
 *   - every --kill-every seconds one backend is SIGKILLed and restarted on the same port --down ms later;
 *   - clients that hang up mid-head, after the head, mid-body and before the reply;
 *   - uploads and request heads that stall (the balancer must end them: --body-timeout/--header-timeout).
 *
 * It prints requests and failures, split into those that had a kill in flight (a request on a member
 * at the moment it was killed cannot always be saved) and those that did not; the balancer's exit;
 * its fd count and RSS at start and at the end. Timing is reported, never judged.
 * Exit status 1 when the balancer died, did not exit 0 on SIGTERM, or its fd count grew beyond
 * --fd-tolerance.
 *
 *   npm run soak -- [--duration 60] [--connections 16] [--kill-every 4] [--down 1000] [--fd-tolerance 8]
 *
 * `node dist/bench/soak.js --backend <route> <port>` is the backend (one per process, so it can be killed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
function opt(name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} needs a number, got '${args[i + 1]}'`);
  return v;
}

// ------------------------------------------------------------------ backend mode

/** A Tomcat-like node:http backend: `/app/upload` reads the body, anything else answers a small page. */
async function backendMain(route: string, port: number): Promise<void> {
  const page = Buffer.from(`hello from ${route}\n`);
  let n = 0;
  // keepAliveTimeout 0: no `Keep-Alive: timeout=` hint (Tomcat sends none either), so the balancer's
  // own connection_pool_timeout decides when idle pool connections close.
  const server = http.createServer({ keepAliveTimeout: 0 }, (req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('error', () => {});
    req.on('end', () => {
      const body = req.url?.startsWith('/app/upload') ? Buffer.from(`${route} got ${bytes} bytes\n`) : page;
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain', 'content-length': body.length, 'x-instance': route };
      if (!req.headers.cookie) headers['set-cookie'] = `JSESSIONID=${(++n).toString(16)}.${route}; Path=/`;
      res.writeHead(200, headers);
      res.end(body);
    });
  });
  // The port of a killed backend may still be held for a moment: try again briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', fail);
          ok();
        });
      });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 50) throw err;
      await sleep(100);
    }
  }
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
}

// ------------------------------------------------------------------ helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function firstLine(child: ChildProcess, what: string, match: (line: string) => boolean = () => true, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let buf = '';
    const timer = setTimeout(() => done(new Error(`${what}: no start-up line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (c: Buffer): void => {
      buf += c.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (match(line)) return done(null, line);
      }
    };
    const onExit = (code: number | null, signal: string | null): void => done(new Error(`${what} exited (${code ?? signal}) before it started`));
    const done = (err: Error | null, line = ''): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolveLine(line);
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}

/** The process's TCP sockets by kind, from /proc/<pid>/fd and /proc/net/tcp{,6}. */
function socketsOf(pid: number, listenPort: number, backendPorts: readonly number[]): { clients: number; backends: number; listening: number; other: number } {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed while we looked
    }
  }
  const out = { clients: 0, backends: 0, listening: 0, other: 0 };
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      const localPort = parseInt(f[1].split(':')[1], 16);
      const remotePort = parseInt(f[2].split(':')[1], 16);
      if (f[3] === '0A') out.listening++;
      else if (localPort === listenPort) out.clients++;
      else if (backendPorts.includes(remotePort)) out.backends++;
      else out.other++;
    }
  }
  return out;
}

// ------------------------------------------------------------------ backends that die

const MEMBERS = ['n1', 'n2', 'n3'] as const;
type Member = (typeof MEMBERS)[number];

class Backend {
  child: ChildProcess | null = null;
  port = 0;
  /** Times (ms) this backend was SIGKILLed. */
  readonly kills: number[] = [];
  constructor(readonly route: Member) {}

  async start(): Promise<void> {
    const child = spawn(process.execPath, [self, '--backend', this.route, String(this.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child = child;
    const line = await firstLine(child, `backend ${this.route}`);
    this.port = (JSON.parse(line) as { port: number }).port;
    child.stdout!.resume();
  }

  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    this.kills.push(Date.now());
    c.kill('SIGKILL');
    await exited;
    this.child = null;
  }

  stop(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}

// ------------------------------------------------------------------ load with per-request accounting

interface Failure {
  readonly start: number;
  readonly end: number;
  readonly pinned: Member | null;
  readonly what: string;
}

interface Tally {
  requests: number;
  ok: number;
  failures: Failure[];
}

/** What this file uses of an autocannon client beyond bench/autocannon.d.ts: its events. */
interface CannonClient {
  on(event: 'request', f: () => void): void;
  on(event: 'response', f: (status: number) => void): void;
  on(event: 'connError', f: (err: Error) => void): void;
  on(event: 'timeout', f: () => void): void;
}
interface CannonOptions {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  timeout?: number;
  setupClient?: (client: CannonClient) => void;
}
const cannon = autocannon as unknown as (o: CannonOptions) => Promise<unknown>;

/** One autocannon run; each of its requests is timed from send to answer and failures are kept. */
function load(tally: Tally, pinned: Member | null, o: Omit<CannonOptions, 'setupClient'>): Promise<unknown> {
  return cannon({
    ...o,
    setupClient(client) {
      let start = 0;
      let open = false;
      const fail = (what: string): void => {
        if (!open) return;
        open = false;
        tally.requests++;
        tally.failures.push({ start, end: Date.now(), pinned, what });
      };
      client.on('request', () => {
        start = Date.now();
        open = true;
      });
      client.on('response', (status) => {
        if (!open) return;
        if (status >= 200 && status < 300) {
          open = false;
          tally.requests++;
          tally.ok++;
        } else fail(String(status));
      });
      client.on('connError', (err) => fail(`error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      client.on('timeout', () => fail('timeout'));
    },
  });
}

// ------------------------------------------------------------------ hostile clients

interface Hostile {
  hangups: Record<string, number>;
  stalls: { started: number; ended408: number; endedClosed: number; endedOther: number; notEnded: number };
}

/** Opens a connection, sends part of a request, hangs up: over and over until `until`. */
async function hangUps(port: number, until: number, h: Hostile): Promise<void> {
  const phases = ['mid-head', 'after-head', 'mid-body', 'before-reply'] as const;
  let i = 0;
  while (Date.now() < until) {
    const phase = phases[i % phases.length];
    const member = MEMBERS[Math.floor(i / phases.length) % MEMBERS.length];
    const cookie = i % 3 === 0 ? '' : `Cookie: JSESSIONID=hang.${member}\r\n`;
    i++;
    const headText = `POST /app/upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${cookie}Content-Length: 20000\r\n\r\n`;
    const sent =
      phase === 'mid-head' ? headText.slice(0, 1 + (i % (headText.length - 2)))
      : phase === 'after-head' ? headText
      : phase === 'mid-body' ? headText + 'x'.repeat(1 + (i % 19_000))
      : headText + 'x'.repeat(20_000);
    await new Promise<void>((done) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => done());
      s.on('connect', () => {
        s.write(sent);
        setTimeout(() => (i % 2 === 0 ? s.destroy() : s.resetAndDestroy()), i % 50);
      });
    });
    h.hangups[phase] = (h.hangups[phase] ?? 0) + 1;
    await sleep(20);
  }
}

/** Keeps an upload (or a head) stalled until the balancer ends it; counts how it ended. */
async function stalls(port: number, until: number, limitMs: number, h: Hostile): Promise<void> {
  let i = 0;
  while (Date.now() < until) {
    const member = MEMBERS[i % MEMBERS.length];
    const headText = `POST /app/upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: JSESSIONID=stall.${member}\r\nContent-Length: 100000\r\n\r\n`;
    const sent = i % 3 === 2 ? headText.slice(0, 30) : `${headText}${'x'.repeat(1000)}`;
    i++;
    h.stalls.started++;
    await new Promise<void>((done) => {
      const s = net.connect(port, '127.0.0.1');
      let reply = '';
      let gaveUp = false;
      const giveUp = setTimeout(() => {
        gaveUp = true;
        s.destroy();
      }, limitMs);
      s.on('data', (c: Buffer) => (reply += c.toString('latin1')));
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(giveUp);
        if (gaveUp) h.stalls.notEnded++;
        else if (reply.startsWith('HTTP/1.1 408')) h.stalls.ended408++;
        else if (reply === '') h.stalls.endedClosed++;
        else h.stalls.endedOther++;
        done();
      });
      s.on('connect', () => s.write(sent));
    });
  }
}

// ------------------------------------------------------------------ the run

async function main(): Promise<number> {
  const duration = opt('duration', 60);
  const connections = Math.max(6, opt('connections', 16));
  const killEvery = opt('kill-every', 4);
  const downMs = opt('down', 1000);
  const fdTolerance = opt('fd-tolerance', 8);
  const clientLimitMs = 1000;
  const tmp = mkdtempSync(join(tmpdir(), 'jkb-soak-'));
  const backends = MEMBERS.map((m) => new Backend(m));
  let balancer: ChildProcess | null = null;
  let t0 = Date.now();
  try {
    await Promise.all(backends.map((b) => b.start()));
    const workers = [
      'worker.maintain=1',
      'worker.list=lb',
      'worker.lb.type=lb',
      `worker.lb.balance_workers=${MEMBERS.join(',')}`,
      // A killed member is back in rotation a couple of seconds after it restarts.
      'worker.lb.recover_time=2',
      ...backends.flatMap((b) => [
        `worker.${b.route}.type=http`,
        `worker.${b.route}.host=127.0.0.1`,
        `worker.${b.route}.port=${b.port}`,
        `worker.${b.route}.connection_pool_size=16`,
        // Idle pool connections close after 2 s, so the fd count can come back down at the end.
        `worker.${b.route}.connection_pool_timeout=2`,
        `worker.${b.route}.socket_connect_timeout=1000`,
      ]),
    ].join('\n');
    const wf = join(tmp, 'workers.properties');
    const mf = join(tmp, 'uriworkermap.properties');
    writeFileSync(wf, `${workers}\n`);
    writeFileSync(mf, '/app/*=lb\n');

    // As `jkbalancer start` runs it; port 0, learnt from the start-up log line.
    const lb = spawn(
      process.execPath,
      [join(root, 'bin/jkbalancer.js'), 'start', '--workers', wf, '--mounts', mf, '--listen', '127.0.0.1:0', '--no-persist',
        '--body-timeout', String(clientLimitMs), '--header-timeout', String(clientLimitMs), '--shutdown-timeout', '5000'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    balancer = lb;
    let died: string | null = null;
    let diedAt = Infinity;
    let stopping = false;
    lb.once('exit', (code, signal) => {
      if (stopping) return;
      diedAt = Date.now();
      died = `exited (${code ?? signal}) ${((diedAt - t0) / 1000).toFixed(1)} s into the run`;
    });
    const started = await firstLine(lb, 'jkbalancer', (l) => l.includes('jkbalancer started'));
    const port = Number((JSON.parse(started) as { listen: string }).listen.split(':').pop());
    // Keep reading its log (one line per request), counting what it logs at error level or worse.
    let errorLines = 0;
    let logTail = '';
    lb.stdout!.on('data', (c: Buffer) => {
      const text = logTail + c.toString();
      const lines = text.split('\n');
      logTail = lines.pop() ?? '';
      for (const l of lines) if (/"level":(5|6)0/.test(l)) errorLines++;
    });
    const pid = lb.pid!;
    const fdStart = fdCount(pid);
    const rssStart = rssMb(pid);
    process.stderr.write(`jkbalancer soak: node ${process.version}, ${duration}s, balancer pid ${pid} on 127.0.0.1:${port}, fds ${fdStart}, RSS ${rssStart} MB\n`);

    t0 = Date.now();
    const until = t0 + duration * 1000;
    const base = `http://127.0.0.1:${port}`;
    const plain: Tally = { requests: 0, ok: 0, failures: [] };
    const sticky: Tally = { requests: 0, ok: 0, failures: [] };
    const uploads: Tally = { requests: 0, ok: 0, failures: [] };
    const per = Math.max(1, Math.floor(connections / 6));
    const cannonDefaults = { duration, timeout: 10 };
    const runs = [
      load(plain, null, { ...cannonDefaults, url: `${base}/app/`, connections: connections - 5 * per }),
      ...MEMBERS.map((m) => load(sticky, m, { ...cannonDefaults, url: `${base}/app/`, connections: per, headers: { cookie: `JSESSIONID=soak.${m}` } })),
      load(uploads, null, { ...cannonDefaults, url: `${base}/app/upload`, connections: per, method: 'POST', body: 'u'.repeat(32 * 1024), headers: { 'content-type': 'application/octet-stream' } }),
    ];
    const hostile: Hostile = { hangups: {}, stalls: { started: 0, ended408: 0, endedClosed: 0, endedOther: 0, notEnded: 0 } };
    const stallLimit = 4 * clientLimitMs + 2000;
    const misbehaving = [hangUps(port, until, hostile), hangUps(port, until, hostile), stalls(port, until, stallLimit, hostile), stalls(port, until, stallLimit, hostile)];
    const killer = (async () => {
      let k = 0;
      while (Date.now() + killEvery * 1000 < until) {
        await sleep(killEvery * 1000);
        const b = backends[k++ % backends.length];
        await b.kill();
        await sleep(downMs);
        await b.start();
      }
    })();
    // RSS once warm (JIT, pools, V8's heap grown to the load), to compare with the end of the run.
    let rssWarm = NaN;
    const warmTimer = setTimeout(() => {
      if (lb.exitCode === null) rssWarm = rssMb(pid);
    }, Math.min(10_000, (duration * 1000) / 4));
    await Promise.all([...runs, killer, ...misbehaving]);
    clearTimeout(warmTimer);
    const rssLoadEnd = lb.exitCode === null ? rssMb(pid) : NaN;
    const aliveAtEnd = lb.exitCode === null && lb.signalCode === null;
    const fdLoadEnd = aliveAtEnd ? fdCount(pid) : NaN;
    const na = (v: number) => (Number.isNaN(v) ? 'n/a (not running)' : String(v));

    // Idle pool connections close after connection_pool_timeout; give them a few seconds.
    let fdEnd = fdLoadEnd;
    for (let waited = 0; aliveAtEnd && waited < 8000 && fdEnd > fdStart + fdTolerance; waited += 250) {
      await sleep(250);
      fdEnd = fdCount(pid);
    }
    const rssEnd = aliveAtEnd ? rssMb(pid) : NaN;
    const sockets = aliveAtEnd ? socketsOf(pid, port, backends.map((b) => b.port)) : null;

    // Stop it as an operator would; it must exit 0.
    let exit = died ?? 'still running';
    if (aliveAtEnd) {
      // 'close': its last log lines (counted below) are read by then.
      const exited = new Promise<string>((r) => lb.once('close', (code, signal) => r(code !== null ? `exit code ${code}` : `signal ${signal}`)));
      stopping = true;
      lb.kill('SIGTERM');
      exit = await Promise.race([exited, sleep(15_000).then(() => 'did not exit within 15 s of SIGTERM')]);
    }

    // A failure is unavoidable when its member was killed while it was in flight (a session-less
    // request or an upload could have been on any member).
    const allKills = backends.flatMap((b) => b.kills.map((t) => ({ t, member: b.route })));
    const hadKill = (f: Failure) => allKills.some((k) => (f.pinned === null || f.pinned === k.member) && k.t >= f.start && k.t <= f.end);
    const report = (name: string, t: Tally) => {
      // Once the balancer is dead every request fails; those are not classified, only counted.
      const before = t.failures.filter((f) => f.start < diedAt);
      const unavoidable = before.filter(hadKill);
      const avoidable = before.filter((f) => !hadKill(f));
      const kinds = (fs: Failure[]) => {
        const c: Record<string, number> = {};
        for (const f of fs) c[f.what] = (c[f.what] ?? 0) + 1;
        return Object.entries(c).map(([k, n]) => `${k}×${n}`).join(' ') || '-';
      };
      const afterDeath = t.failures.length - before.length;
      return { name, requests: t.requests, ok: t.ok, failed: t.failures.length, unavoidable: unavoidable.length, avoidable: avoidable.length, afterDeath, kinds: kinds(before), avoidableKinds: kinds(avoidable) };
    };
    const rows = [report('session-less GET', plain), report('sticky GET', sticky), report('upload POST 32 KiB', uploads)];
    const sum = (k: 'requests' | 'ok' | 'failed' | 'unavoidable' | 'avoidable' | 'afterDeath') => rows.reduce((a, r) => a + r[k], 0);

    console.log(`jkbalancer soak: ${duration} s on 127.0.0.1, node ${process.version}`);
    console.log(`kills: ${allKills.length} (${backends.map((b) => `${b.route} ${b.kills.length}`).join(', ')}), each member down ${downMs} ms, one every ${killEvery} s`);
    const deathNote = (n: number) => (died !== null ? `, ${n} after the balancer died` : '');
    console.log(`requests: ${sum('requests')}, 2xx ${sum('ok')}, failed ${sum('failed')}: ${sum('unavoidable')} with a kill of their member in flight (unavoidable), ${sum('avoidable')} with no kill in flight${deathNote(sum('afterDeath'))}`);
    for (const r of rows) console.log(`  ${r.name.padEnd(20)} ${String(r.requests).padStart(8)} requests, ${r.failed} failed (${r.unavoidable} unavoidable; ${r.avoidable} not: ${r.avoidableKinds}${deathNote(r.afterDeath)}); failures by kind: ${r.kinds}`);
    console.log(`hostile clients: hang-ups ${Object.entries(hostile.hangups).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    const st = hostile.stalls;
    console.log(`  stalled uploads/heads: ${st.started}, ended by the balancer: ${st.ended408} with 408, ${st.endedClosed} closed, ${st.endedOther} other replies; not ended within ${stallLimit} ms: ${st.notEnded}`);
    console.log(`balancer: ${died ?? 'alive through the run'}; on SIGTERM: ${exit}; error-level log lines: ${errorLines}`);
    console.log(`fds: ${fdStart} at start, ${na(fdLoadEnd)} when the load stopped, ${na(fdEnd)} after idle connections closed (tolerance +${fdTolerance})`);
    if (sockets) console.log(`  open TCP sockets at the end: ${sockets.clients} from clients, ${sockets.backends} to members (pool size 16 each), ${sockets.listening} listening, ${sockets.other} other`);
    console.log(`RSS: ${rssStart} MB at start (idle), ${na(rssWarm)} MB once warm (${Math.min(10, duration / 4)} s into the load), ${na(rssLoadEnd)} MB when the load stopped, ${na(rssEnd)} MB at the end`);

    const problems: string[] = [];
    if (died !== null || !aliveAtEnd) problems.push('the balancer died during the run');
    if (exit !== 'exit code 0') problems.push(`the balancer did not exit 0 on SIGTERM (${exit})`);
    if (aliveAtEnd && !(fdEnd <= fdStart + fdTolerance)) problems.push(`fds grew from ${fdStart} to ${fdEnd}`);
    for (const p of problems) console.log(`FAIL: ${p}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    if (balancer && balancer.exitCode === null && balancer.signalCode === null) balancer.kill('SIGKILL');
    for (const b of backends) b.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (args[0] === '--backend') {
  backendMain(args[1], Number(args[2] ?? '0')).catch((err: unknown) => {
    console.error(`soak backend: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
} else {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`soak failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
