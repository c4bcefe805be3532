/**
 * `jkbalancer start --processes N`: N worker processes serve traffic behind node:cluster; the
 * primary owns the admin state. What is shared and how (README "All cores"):
 *
 * - The primary runs the whole product on a private loopback listener: the status worker, the
 *   state file, the drain policy, the maintenance pass that decides recoveries, /metrics. Workers
 *   forward their status requests to it (the client's address in a header only the primary reads).
 * - Every change the primary commits (AdminState) goes to every worker as AdminOps with a sequence
 *   number; the status answer waits until every worker confirmed (or names the laggards).
 * - A worker gets the full state before it listens (settings and member states).
 * - A member error seen by one worker is sent to the primary, which gives it to every worker;
 *   recovery (ERROR → RECOVER after recover_time) is decided by the primary once, for all.
 * - Active health checks run in the primary alone; a state they change goes to every worker the
 *   same way.
 * - lb values stay per process, as mod_jk's optimistic locking keeps them per child.
 * - Status counters and /metrics are sums over the workers, collected when asked; drain progress
 *   merges the workers' HyperLogLog sketches.
 * - The history is the primary's: every sample collects each worker's counts of the interval (each
 *   worker takes its own), sums them and merges the sketches before recording.
 * - With --state-redis the primary holds the Redis link (app/redis-state.ts): a change from another
 *   instance reaches the workers like the primary's own, and the primary publishes the union of
 *   the workers' drain sketches.
 */
import cluster, { type Worker } from 'node:cluster';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Logger } from 'pino';
import type { StartOptions } from './start-options.js';
import { NODE_HAS_REUSE_PORT } from './reuse-port.js';
import { launch, type Running } from './start.js';
import { createLogger, flushLogs } from '../proxy/log.js';
import { applyOp, type AdminOp } from '../routing/admin-ops.js';
import { LB_ATTRIBUTES, MEMBER_ATTRIBUTES, type AttrValue } from '../routing/attributes.js';
import type { Balancer } from '../routing/balancer.js';
import type { DrainSketch } from '../routing/drain.js';
import { sumCounts, type IntervalCounts } from '../metrics/interval-counts.js';
import { Act, State, STATE_NAMES, type StateCode } from '../routing/types.js';
import type { Farm } from '../proxy/farm.js';
import { sendOwnReply } from '../http/own-replies.js';

/** How long a change waits for every worker's confirmation before it answers with the laggards. */
const ACK_TIMEOUT_MS = 2000;
/** How long a status request waits for the workers' counters. */
const COLLECT_TIMEOUT_MS = 1000;
/** Metric families the primary serves from its own registry rather than summing the workers'. */
const PRIMARY_FAMILIES = new Set([
  'jkbalancer_config_reloads_total', 'jkbalancer_member_sticky_sessions', 'jkbalancer_member_last_sticky_request_timestamp_seconds',
  // Only the primary checks members.
  'jkbalancer_health_check_total', 'jkbalancer_health_check_up', 'jkbalancer_health_check_latency_seconds',
]);
/** Header carrying the client's address from a worker to the primary's private listener. */
const CLIENT_HEADER = 'x-jkbalancer-client-address';

/** A member's shared state. */
interface MemberState {
  readonly state: StateCode;
  readonly firstErrorTime: number;
  readonly lastErrorTime: number;
}

interface Snapshot {
  readonly balancers: Record<string, { settings: Record<string, AttrValue>; members: Record<string, { settings: Record<string, AttrValue> } & MemberState> }>;
}

interface MemberCounters {
  elected: number;
  sessions: number;
  errors: number;
  clientErrors: number;
  replyTimeouts: number;
  transferred: number;
  read: number;
  busy: number;
  maxBusy: number;
  connected: number;
  maxConnected: number;
  sketch: DrainSketch;
}
interface Collected {
  readonly pid: number;
  readonly balancers: Record<string, { busy: number; maxBusy: number; members: Record<string, MemberCounters & MemberState> }>;
  readonly metrics: MetricObjectWithValues<MetricValue<string>>[] | null;
  /** The worker's counts since it last sent them (only when the primary takes a history sample). */
  readonly counts: IntervalCounts | null;
}

type ToWorker =
  | { t: 'sync'; seq: number; snapshot: Snapshot }
  | { t: 'ops'; seq: number; ops: AdminOp[] }
  | { t: 'state'; lb: string; member: string; s: MemberState }
  | { t: 'collect'; id: number; metrics: boolean; counts: boolean }
  | { t: 'reload' }
  | { t: 'stop' };
type ToPrimary =
  | { t: 'ready' }
  /** Every listener is open; `port` is the first one's. */
  | { t: 'listening'; port: number }
  | { t: 'ack'; seq: number }
  | { t: 'state'; lb: string; member: string; s: MemberState }
  | { t: 'collected'; id: number; data: Collected };

const isBad = (s: StateCode) => s !== State.OK && s !== State.IDLE && s !== State.BUSY;

function snapshotOf(balancers: ReadonlyMap<string, Balancer>): Snapshot {
  const out: Snapshot['balancers'] = {};
  for (const [name, b] of balancers) {
    const settings: Record<string, AttrValue> = {};
    for (const a of LB_ATTRIBUTES) settings[a.key] = a.current(b.lb);
    const members: Snapshot['balancers'][string]['members'] = {};
    for (const m of b.members) {
      const ms: Record<string, AttrValue> = {};
      for (const a of MEMBER_ATTRIBUTES) ms[a.key] = a.current(m);
      members[m.name] = { settings: ms, state: m.state, firstErrorTime: m.firstErrorTime, lastErrorTime: m.lastErrorTime };
    }
    out[name] = { settings, members };
  }
  return { balancers: out };
}

/** Applies the primary's snapshot through the gate (settings in table order, then the shared states). */
function applySnapshot(balancers: ReadonlyMap<string, Balancer>, snap: Snapshot): void {
  for (const [lb, sb] of Object.entries(snap.balancers)) {
    const b = balancers.get(lb);
    if (!b) continue;
    for (const [key, value] of Object.entries(sb.settings)) applyOp(balancers, { kind: 'set', lb, member: null, key, value });
    for (const [member, sm] of Object.entries(sb.members)) {
      const m = b.memberByName(member);
      if (!m) continue;
      for (const a of MEMBER_ATTRIBUTES) applyOp(balancers, { kind: 'set', lb, member, key: a.key, value: sm.settings[a.key] });
      if (isBad(sm.state) || sm.state === State.OK) b.adoptState(m.index, sm.state, sm.firstErrorTime, sm.lastErrorTime);
    }
  }
}

// ------------------------------------------------------------------------------------- primary

interface WorkerSlot {
  readonly id: number;
  worker: Worker;
  /** Highest change it confirmed. */
  acked: number;
  ready: boolean;
}

export async function startPrimary(options: StartOptions, processes: number): Promise<void> {
  const logger = createLogger(options.logLevel);
  const slots: WorkerSlot[] = [];
  let seq = 0;
  let stopping = false;
  let collectId = 0;
  const pendingCollect = new Map<number, { want: number; got: Collected[]; done: () => void }>();
  const ackWaiters = new Set<() => void>();
  let running: Running;
  let publicPort = options.listenPort;

  const send = (slot: WorkerSlot, msg: ToWorker) => {
    if (slot.ready && slot.worker.isConnected()) slot.worker.send(msg);
  };
  const live = () => slots.filter((s) => s.ready && s.worker.isConnected());
  const nameOf = (s: WorkerSlot) => `process ${s.id} (pid ${s.worker.process.pid})`;

  /** Gathers every worker's counters (and, for /metrics, its registry; for the history, its interval counts). */
  const collect = (metrics: boolean, counts: boolean): Promise<Collected[]> => {
    const targets = live();
    if (targets.length === 0) return Promise.resolve([]);
    const id = ++collectId;
    return new Promise((resolve) => {
      const entry = { want: targets.length, got: [] as Collected[], done: () => {} };
      const finish = () => {
        clearTimeout(timer);
        pendingCollect.delete(id);
        resolve(entry.got);
      };
      entry.done = finish;
      const timer = setTimeout(finish, COLLECT_TIMEOUT_MS);
      pendingCollect.set(id, entry);
      for (const s of targets) send(s, { t: 'collect', id, metrics, counts });
    });
  };

  /** Writes the workers' sums into the primary's balancers (what the status worker shows). */
  const absorb = (all: readonly Collected[]) => {
    for (const [lb, b] of running.app.farm.balancers) {
      let busy = 0;
      let maxBusy = 0;
      const trackers = running.drains.trackersOf(b);
      for (const m of b.members) {
        const sum = { elected: 0, sessions: 0, errors: 0, clientErrors: 0, replyTimeouts: 0, transferred: 0, read: 0, busy: 0, maxBusy: 0, connected: 0, maxConnected: 0 };
        for (const c of all) {
          const x = c.balancers[lb]?.members[m.name];
          if (!x) continue;
          for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += x[k];
          trackers[m.index].merge(x.sketch);
        }
        Object.assign(m, sum);
        // Error states are the primary's; otherwise show what the workers see (OK once one served).
        if (!isBad(m.state)) {
          const seen = all.map((c) => c.balancers[lb]?.members[m.name]?.state).filter((x): x is StateCode => x !== undefined && !isBad(x));
          m.state = seen.includes(State.BUSY) ? State.BUSY : seen.includes(State.OK) ? State.OK : State.IDLE;
        }
      }
      for (const c of all) {
        busy += c.balancers[lb]?.busy ?? 0;
        maxBusy += c.balancers[lb]?.maxBusy ?? 0;
      }
      b.lb.busy = busy;
      b.lb.maxBusy = maxBusy;
    }
  };
  const refresh = async () => absorb(await collectAll(false));

  /** Sends applied ops to every worker; resolves with the ones that did not confirm in time. */
  const replicate = (ops: readonly AdminOp[]) => {
    const mine = ++seq;
    const targets = live();
    for (const s of targets) send(s, { t: 'ops', seq: mine, ops: [...ops] });
    return new Promise<{ laggards: string[] }>((resolve) => {
      const check = () => {
        const late = targets.filter((s) => s.acked < mine && s.worker.isConnected());
        if (late.length > 0) return false;
        done();
        return true;
      };
      const timer = setTimeout(() => {
        ackWaiters.delete(waiter);
        resolve({ laggards: targets.filter((s) => s.acked < mine && s.worker.isConnected()).map(nameOf) });
      }, ACK_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        ackWaiters.delete(waiter);
        resolve({ laggards: [] });
      };
      const waiter = () => void check();
      ackWaiters.add(waiter);
      check();
    });
  };

  /** A member state from a worker: the primary takes it over and gives it to the other workers. */
  const shareState = (from: WorkerSlot | null, lb: string, member: string, st: MemberState) => {
    const b = running.app.farm.balancers.get(lb);
    const m = b?.memberByName(member);
    if (!b || !m) return;
    b.adoptState(m.index, st.state, st.firstErrorTime, st.lastErrorTime);
    if (st.state === State.ERROR) logger.warn({ lb, member, from: from ? nameOf(from) : 'primary' }, 'member in error for every process');
    toWorkers(from, lb, member, st);
  };
  const toWorkers = (except: WorkerSlot | null, lb: string, member: string, st: MemberState) => {
    for (const s of live()) if (s !== except) send(s, { t: 'state', lb, member, s: st });
  };

  const metricsHandler = (req: IncomingMessage, res: ServerResponse) => {
    void collectAll(true).then(async (all) => {
      absorb(all);
      // Families counted per process are summed; the primary adds the ones only it keeps right:
      // reloads, and drain progress from the union of the workers' sketches (absorbed above).
      const own = (await running.metrics.registry.getMetricsAsJSON()).filter((f) => PRIMARY_FAMILIES.has(f.name));
      const merged = AggregatorRegistry.aggregate([...all.map((c) => c.metrics ?? []), own]);
      const text = await merged.metrics();
      res.writeHead(200, { 'content-type': merged.contentType, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
    }, (err: Error) => sendOwnReply(res, 'JKB_INTERNAL', { detail: `metrics collection failed: ${err.message}` }));
  };

  /** `<status mount>/processes`: each worker's own counters and member states, for debugging. */
  let lastCollected: Collected[] = [];
  const collectAll = async (metrics: boolean, counts = false) => {
    const all = await collect(metrics, counts);
    lastCollected = all;
    return all;
  };
  const serveExtra = (path: string, _req: IncomingMessage, res: ServerResponse): boolean => {
    if (!path.endsWith('/processes')) return false;
    const body = JSON.stringify({
      processes: lastCollected.map((c) => ({ pid: c.pid, balancers: Object.fromEntries(Object.entries(c.balancers).map(([lb, b]) => [lb, {
        busy: b.busy,
        members: Object.fromEntries(Object.entries(b.members).map(([name, m]) => {
          const { sketch: _sketch, ...rest } = m;
          return [name, { ...rest, state: STATE_NAMES[m.state] }];
        })),
      }])) })),
    });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
    res.end(body);
    return true;
  };

  running = await launch(
    // The primary's listener is private and plain: the TLS listeners are the workers'.
    { ...options, listenHost: '127.0.0.1', listenPort: 0, listeners: undefined, redirectHttps: false },
    logger,
    {
      remoteAddress: (req) => {
        const v = req.headers[CLIENT_HEADER];
        return typeof v === 'string' ? v : req.socket.remoteAddress;
      },
      publicPort: () => publicPort,
      beforeStatus: refresh,
      metricsHandler,
      serveExtra,
      drainPolicy: true,
      // The checks run here, once for all: a state they change goes to every worker as any shared state.
      healthChecks: true,
      prepareFarm: (farm) => {
        for (const [lb, b] of farm.balancers) {
          b.stateShared = (i) => {
            const m = b.members[i];
            toWorkers(null, lb, m.name, { state: m.state, firstErrorTime: m.firstErrorTime, lastErrorTime: m.lastErrorTime });
          };
        }
      },
      historyCounts: async () => {
        const all = await collectAll(false, true);
        // Busy and the drain sketches of this moment too: the sample reads them from the primary's balancers.
        absorb(all);
        return sumCounts(all.flatMap((c) => (c.counts ? [c.counts] : [])));
      },
    },
  );
  running.admin.replicate = replicate;
  const privatePort = running.address.port;

  // Recovery is decided here, once: the primary's own maintenance pass (BalancerApp's timer) moves
  // ERROR members to RECOVER; every state that changed is given to the workers.
  const lastStates = new Map<Balancer, StateCode[]>();
  const shareMaintenance = () => {
    for (const [lb, b] of running.app.farm.balancers) {
      b.maintain();
      const prev = lastStates.get(b);
      for (const m of b.members) {
        if (prev && prev[m.index] !== m.state && prev[m.index] === State.ERROR) shareState(null, lb, m.name, { state: m.state, firstErrorTime: m.firstErrorTime, lastErrorTime: m.lastErrorTime });
      }
      lastStates.set(b, b.members.map((m) => m.state));
    }
  };
  const tick = setInterval(() => {
    shareMaintenance();
    // The drain policy needs the union of the workers' sketches of draining members.
    const draining = [...running.app.farm.balancers.values()].some((b) => b.members.some((m) => m.activation === Act.DISABLED));
    if (draining) void refresh();
  }, 1000);
  tick.unref();

  const fork = (id: number): WorkerSlot => {
    const worker = cluster.fork({ JKB_CLUSTER_PRIMARY_PORT: String(privatePort), JKB_CLUSTER_PROCESS: String(id) });
    const slot: WorkerSlot = slots[id - 1] ?? { id, worker, acked: 0, ready: false };
    slot.worker = worker;
    slot.acked = seq;
    slot.ready = false;
    slots[id - 1] = slot;
    worker.on('message', (msg: ToPrimary) => {
      switch (msg.t) {
        case 'ready':
          // It has the configuration; give it the state before it listens.
          slot.ready = true;
          slot.acked = seq;
          worker.send({ t: 'sync', seq, snapshot: snapshotOf(running.app.farm.balancers) } satisfies ToWorker);
          break;
        case 'listening':
          workerListening(msg.port);
          break;
        case 'ack':
          slot.acked = Math.max(slot.acked, msg.seq);
          for (const w of [...ackWaiters]) w();
          break;
        case 'state':
          shareState(slot, msg.lb, msg.member, msg.s);
          break;
        case 'collected': {
          const p = pendingCollect.get(msg.id);
          if (!p) break;
          p.got.push(msg.data);
          if (p.got.length >= p.want) p.done();
          break;
        }
      }
    });
    worker.on('exit', (code, signal) => {
      for (const w of [...ackWaiters]) w();
      if (stopping) return;
      logger.error({ process: id, pid: worker.process.pid, code, signal }, 'worker process died; starting a new one with the current state');
      fork(id);
    });
    return slot;
  };

  let workerListening: (port: number) => void = () => {};
  cluster.setupPrimary({ serialization: 'json' });
  for (let i = 1; i <= processes; i++) fork(i);
  await new Promise<void>((resolve) => {
    let listening = 0;
    // A worker says so itself: with SO_REUSEPORT it listens without the primary hearing of it.
    workerListening = (port) => {
      publicPort = port;
      if (++listening === processes) resolve();
    };
  });
  // How connections reach the workers: the kernel (SO_REUSEPORT) on a fixed port where Node has it.
  const fixedPort = (options.listeners?.[0] ?? { port: options.listenPort }).port !== 0;
  const accept = NODE_HAS_REUSE_PORT && fixedPort ? 'reuseport' : 'primary round-robin';
  logger.info({ listen: `${options.listenHost}:${publicPort}`, processes, accept, pid: process.pid }, 'jkbalancer started');

  process.on('SIGHUP', () => {
    void flushLogs(logger);
    logger.info('SIGHUP: reloading the configuration');
    // The primary checks the files first: an invalid configuration reaches no worker.
    if (!running.reload()) return;
    for (const s of live()) send(s, { t: 'reload' });
    // Settings the new files changed are the primary's now: every worker gets the full state again.
    const snapshot = snapshotOf(running.app.farm.balancers);
    for (const s of live()) send(s, { t: 'sync', seq, snapshot });
  });
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: every worker process finishes its in-flight requests');
    clearInterval(tick);
    const exits = slots.map((s) => new Promise<void>((r) => (s.worker.isDead() ? r() : s.worker.once('exit', () => r()))));
    for (const s of slots) if (s.worker.isConnected()) s.worker.send({ t: 'stop' } satisfies ToWorker);
    void Promise.all(exits)
      .then(() => running.stop())
      .then(async () => {
        logger.info('stopped');
        await flushLogs(logger);
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

// ------------------------------------------------------------------------------------- worker

/** Forwards a status request to the primary's private listener, with the client's address. */
function forwardToPrimary(port: number) {
  return {
    handle(req: IncomingMessage, res: ServerResponse) {
      const headers = { ...req.headers, [CLIENT_HEADER]: req.socket.remoteAddress ?? '' };
      const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers }, (reply) => {
        // This hop's framing is not the client's, and an HTTP/2 reply refuses it outright.
        const { connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, ...relayed } = reply.headers;
        res.writeHead(reply.statusCode ?? 502, relayed);
        reply.pipe(res);
      });
      up.on('error', (err) => {
        if (!res.headersSent) sendOwnReply(res, 'JKB_INTERNAL', { detail: `status worker unavailable: ${err.message}` });
        else res.destroy();
      });
      req.pipe(up);
    },
  };
}

export async function startWorker(options: StartOptions): Promise<void> {
  const logger = createLogger(options.logLevel);
  const id = Number(process.env.JKB_CLUSTER_PROCESS);
  const primaryPort = Number(process.env.JKB_CLUSTER_PRIMARY_PORT);
  const toPrimary = (msg: ToPrimary) => {
    if (process.connected) process.send!(msg);
  };
  let farmNow: Farm | null = null;
  const hook = (farm: Farm) => {
    farmNow = farm;
    for (const [lb, b] of farm.balancers) {
      b.recoveryElsewhere = true;
      b.stateShared = (i) => {
        const m = b.members[i];
        toPrimary({ t: 'state', lb, member: m.name, s: { state: m.state, firstErrorTime: m.firstErrorTime, lastErrorTime: m.lastErrorTime } });
      };
    }
  };
  let running: Running | null = null;
  let synced: () => void = () => {};
  const firstSync = new Promise<void>((r) => (synced = r));
  const balancers = () => farmNow?.balancers ?? new Map<string, Balancer>();

  process.on('message', (msg: ToWorker) => {
    switch (msg.t) {
      case 'sync':
        applySnapshot(balancers(), msg.snapshot);
        toPrimary({ t: 'ack', seq: msg.seq });
        synced();
        break;
      case 'ops':
        for (const op of msg.ops) applyOp(balancers(), op);
        toPrimary({ t: 'ack', seq: msg.seq });
        break;
      case 'state': {
        const b = balancers().get(msg.lb);
        const m = b?.memberByName(msg.member);
        if (b && m) b.adoptState(m.index, msg.s.state, msg.s.firstErrorTime, msg.s.lastErrorTime);
        break;
      }
      case 'collect':
        void collectHere(msg.metrics, msg.counts).then((data) => toPrimary({ t: 'collected', id: msg.id, data }));
        break;
      case 'reload':
        running?.reload();
        break;
      case 'stop':
        void (running ? running.stop() : Promise.resolve()).then(async () => {
          await flushLogs(logger);
          process.exit(0);
        });
        break;
    }
  });

  const collectHere = async (withMetrics: boolean, withCounts: boolean): Promise<Collected> => {
    const out: Collected['balancers'] = {};
    running?.app.refreshConnections();
    for (const [lb, b] of balancers()) {
      const trackers = running!.drains.trackersOf(b);
      const members: Collected['balancers'][string]['members'] = {};
      for (const m of b.members) {
        members[m.name] = {
          elected: m.elected, sessions: m.sessions, errors: m.errors, clientErrors: m.clientErrors, replyTimeouts: m.replyTimeouts,
          transferred: m.transferred, read: m.read, busy: m.busy, maxBusy: m.maxBusy, connected: m.connected, maxConnected: m.maxConnected,
          state: m.state, firstErrorTime: m.firstErrorTime, lastErrorTime: m.lastErrorTime, sketch: trackers[m.index].sketch(),
        };
      }
      out[lb] = { busy: b.lb.busy, maxBusy: b.lb.maxBusy, members };
    }
    const metrics = withMetrics && running ? (await running.metrics.registry.getMetricsAsJSON()).filter((f) => !PRIMARY_FAMILIES.has(f.name)) : null;
    return { pid: process.pid, balancers: out, metrics, counts: withCounts && running ? running.metrics.takeCounts() : null };
  };

  // The primary owns the state file, the Redis link, the metrics listener and the drain policy.
  const workerOptions: StartOptions = { ...options, stateFile: null, stateRedis: undefined, metricsPort: undefined, metricsHost: undefined };
  running = await launch(workerOptions, logger, {
    statusHandler: forwardToPrimary(primaryPort),
    prepareFarm: hook,
    drainPolicy: false,
    healthChecks: false,
    reusePort: NODE_HAS_REUSE_PORT,
    historyCounts: null,
    beforeListen: async () => {
      toPrimary({ t: 'ready' });
      await firstSync;
    },
  });
  toPrimary({ t: 'listening', port: running.address.port });
  logger.debug({ process: id, pid: process.pid }, 'worker process serving');
  // SIGTERM/SIGINT go to the primary, which stops every worker; a worker ignores them itself.
  process.on('SIGTERM', () => {});
  process.on('SIGINT', () => {});
  process.on('SIGHUP', () => {});
}

export const isClusterWorker = () => cluster.isWorker && process.env.JKB_CLUSTER_PROCESS !== undefined;
