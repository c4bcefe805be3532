/**
 * What the live-settings wire checks run on: the whole product (`jkbalancer start`'s assembly:
 * status worker, drain policy, maintenance timer) over real sockets, changed only through the
 * status worker's URL API, plus a scripted AJP13 container that records what reaches it (CPings,
 * forward requests, its connections opening and closing).
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { expect } from 'vitest';
import { Agent, request } from 'undici';
import { startProduct, type TestBalancer } from '../../helpers/balancer.js';
import type { FakeTomcat } from '../../helpers/fake-tomcat.js';
import type { TomcatInstance } from '../../helpers/tomcat.js';
import type { Transport } from '../../../src/proxy/transport.js';
import { ajpString, containerPacket } from '../transports/ajp13/fixtures.js';

export const MOUNTS = '/app/*=lb\n/jkstatus=jkstatus\n/jkstatus/*=jkstatus\n';

/** The backends a check may use: fake Tomcats n1, n2, n3 (HTTP), and a real Tomcat when the file starts one. */
export interface Backends {
  readonly http: Readonly<Record<'n1' | 'n2' | 'n3', FakeTomcat>>;
  readonly tomcat: TomcatInstance | null;
}

export interface MemberSpec {
  readonly name: string;
  readonly port: number;
  readonly type?: 'http' | 'ajp13';
  readonly host?: string;
  /** More `worker.<name>.` directives, without the prefix. */
  readonly lines?: readonly string[];
}

/** workers.properties: lb `lb` of these members (maintenance every second) and status worker `jkstatus`. */
export function workersFile(members: readonly MemberSpec[], lbLines: readonly string[] = []): string {
  const lines = [
    'worker.list=lb,jkstatus',
    'worker.maintain=1',
    'worker.jkstatus.type=status',
    'worker.lb.type=lb',
    `worker.lb.balance_workers=${members.map((m) => m.name).join(',')}`,
    ...lbLines.map((l) => `worker.lb.${l}`),
  ];
  for (const m of members) {
    lines.push(`worker.${m.name}.type=${m.type ?? 'http'}`, `worker.${m.name}.host=${m.host ?? '127.0.0.1'}`, `worker.${m.name}.port=${m.port}`);
    for (const l of m.lines ?? []) lines.push(`worker.${m.name}.${l}`);
  }
  return lines.join('\n') + '\n';
}

const agent = new Agent({ connections: 32, keepAliveTimeout: 5_000 });

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Wait (polling) until `cond` holds; fails the test with `what` after `ms`. */
export { until } from '../../helpers/until.js';

/** A request cookie pinning the request to `route`. */
export const sticky = (route: string): Record<string, string> => ({ cookie: `JSESSIONID=live.${route}` });

/** Names of the members whose transport a check's balancer replaced after its first live change. */
export const rebuilt: { members: string[] } = { members: [] };

/** A running balancer whose settings a check changes live. */
export class Live {
  /** The transports when the first live change was made. */
  private before: readonly Transport[] | null = null;

  private constructor(readonly lb: TestBalancer) {}

  static async start(workers: string): Promise<Live> {
    return new Live(await startProduct(workers, MOUNTS));
  }

  /** A request through the balancer; a reply that breaks off mid-body is status -1. */
  async get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    const r = await request(this.lb.url(path), { headers, dispatcher: agent, headersTimeout: 20_000, bodyTimeout: 20_000 });
    try {
      return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
    } catch {
      return { status: -1, headers: r.headers, text: '' };
    }
  }

  /** Which backend instance answered (the fake Tomcats say so in a header or their JSON). */
  async who(path: string, headers: Record<string, string> = {}): Promise<string> {
    const r = await this.get(path, headers);
    const h = r.headers['x-instance'];
    if (typeof h === 'string') return h;
    if (r.status !== 200) return `status ${r.status}`;
    return (JSON.parse(r.text) as { instance: string }).instance;
  }

  /** Who answers each of `n` requests, in order. */
  async whoAll(n: number, path: string, headers: Record<string, string> = {}): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await this.who(path, headers));
    return out;
  }

  /** `cmd=update` of lb `lb` through the status worker's URL API (`params`: `sw=n1&vwf=3`, `vls=0`…); it must succeed. */
  async update(params: string): Promise<void> {
    this.before ??= this.transports();
    const r = await this.get(`/jkstatus?cmd=update&mime=prop&w=lb&${params}`);
    expect(r.text, `update ${params}`).toContain('worker.result.type=OK');
  }

  /** Another status command (`cmd=reset`, `cmd=recover&sw=n1`); it must succeed. */
  async command(params: string): Promise<void> {
    const r = await this.get(`/jkstatus?mime=prop&w=lb&${params}`);
    expect(r.text, params).toContain('worker.result.type=OK');
  }

  /** A member's field (`state`, `activation`, …) or, without `member`, the lb's, as the status worker's `show` reports it. */
  async shown(member: string | null, key: string): Promise<string | undefined> {
    const r = await this.get(`/jkstatus?cmd=show&mime=prop&w=lb${member === null ? '' : `&sw=${member}`}`);
    const prefix = `worker.${member ?? 'lb'}.${key}=`;
    return r.text.split('\n').find((l) => l.startsWith(prefix))?.slice(prefix.length);
  }

  /** The lb's transports as the data path holds them now (indexed like its members). */
  transports(): readonly Transport[] {
    const e = this.lb.app.farm.entries.get('lb');
    if (e?.kind !== 'lb') throw new Error('no lb worker');
    return [...e.transports];
  }

  close(): Promise<void> {
    const before = this.before;
    const now = this.transports();
    const names = this.lb.app.farm.balancers.get('lb')?.members.map((m) => m.name) ?? [];
    rebuilt.members = before === null ? [] : names.filter((_, i) => now[i] !== before[i]);
    return this.lb.close();
  }
}

/** Run `body` on a fresh balancer and always close it. */
export async function withLive(workers: string, body: (live: Live) => Promise<void>): Promise<void> {
  const live = await Live.start(workers);
  try {
    await body(live);
  } finally {
    await live.close();
  }
}

// ---------------------------------------------------------------- a scripted AJP13 container

/** What one connection to the fake container carried, in order: 'cping' | 'forward'. */
export interface AjpConnectionLog {
  readonly id: number;
  readonly packets: string[];
  closed: boolean;
}

export interface FakeAjp {
  readonly port: number;
  readonly connections: AjpConnectionLog[];
  /** CPongs wait this long (ms) before they are sent. */
  cpongDelayMs: number;
  /** Replies to forward requests arriving from now on wait this long (ms). */
  replyDelayMs: number;
  cpings(): number;
  forwards(): number;
  /** Connections open now. */
  open(): number;
  close(): Promise<void>;
}


/** 200 text/plain "ajp <name>", connection reusable. */
function helloReply(name: string): Buffer {
  return Buffer.concat([
    containerPacket([0x04, 0x00, 200], ajpString('OK'), [0x00, 0x02, 0xa0, 0x01], ajpString('text/plain'), ajpString('x-instance'), ajpString(name)),
    containerPacket([0x03], ajpString(`ajp ${name}`)),
    containerPacket([0x05, 1]),
  ]);
}

const CPONG = containerPacket([0x09]);

/**
 * An AJP13 container on 127.0.0.1 that answers CPing with CPong (after cpongDelayMs) and every
 * forward request (no body) with 200, and logs each connection's packets. Request bodies are not
 * supported: the checks that use it send none.
 */
export async function startFakeAjp(name: string): Promise<FakeAjp> {
  const sockets = new Set<Socket>();
  const connections: AjpConnectionLog[] = [];
  const server = createServer((sock) => {
    sockets.add(sock);
    const log: AjpConnectionLog = { id: connections.length + 1, packets: [], closed: false };
    connections.push(log);
    sock.on('close', () => {
      log.closed = true;
      sockets.delete(sock);
    });
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4) {
        const len = buf.readUInt16BE(2);
        if (buf.length < 4 + len) break;
        const type = buf[4];
        buf = buf.subarray(4 + len);
        if (type === 10) {
          log.packets.push('cping');
          const delay = fake.cpongDelayMs;
          if (delay <= 0) sock.write(CPONG);
          else setTimeout(() => !sock.destroyed && sock.write(CPONG), delay);
        } else if (type === 2) {
          log.packets.push('forward');
          const delay = fake.replyDelayMs;
          if (delay <= 0) sock.write(helloReply(name));
          else setTimeout(() => !sock.destroyed && sock.write(helloReply(name)), delay);
        } else {
          log.packets.push(`type ${type}`);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const fake: FakeAjp = {
    port: (server.address() as { port: number }).port,
    connections,
    cpongDelayMs: 0,
    replyDelayMs: 0,
    cpings: () => connections.reduce((n, c) => n + c.packets.filter((p) => p === 'cping').length, 0),
    forwards: () => connections.reduce((n, c) => n + c.packets.filter((p) => p === 'forward').length, 0),
    open: () => connections.filter((c) => !c.closed).length,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  return fake;
}

/** Run `body` with a fake AJP container and always close it. */
export async function withFakeAjp(name: string, body: (fake: FakeAjp) => Promise<void>): Promise<void> {
  const fake = await startFakeAjp(name);
  try {
    await body(fake);
  } finally {
    await fake.close();
  }
}

// ---------------------------------------------------------------- an HTTP backend on another address

/** An HTTP server answering `{"instance": name}` on host:port (e.g. 127.0.0.2 next to a fake Tomcat's port). */
export async function startPlainBackend(name: string, host: string, port: number): Promise<{ close(): Promise<void> }> {
  const server: HttpServer = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-instance': name });
    res.end(JSON.stringify({ instance: name }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
