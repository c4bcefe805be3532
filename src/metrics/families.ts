/**
 * The Prometheus metric families. Every family fills itself in its collect() callback at scrape
 * time, from the request accumulators and from the live Balancer fields, so a member removed by a
 * reload simply stops being published. Naming follows Prometheus rules: `jkbalancer_` prefix,
 * base units (seconds, bytes), `_total` on counters.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Balancer } from '../routing/balancer.js';
import type { MemberRuntime } from '../routing/member.js';
import type { HealthRecord } from '../routing/health.js';
import { lastSticky, type DrainRegistry } from '../routing/drain.js';
import { ACT_NAMES, STATE_NAMES, type Clock } from '../routing/types.js';
import { CODE_CLASSES, DURATION_BUCKETS, ERROR_KINDS, type Accumulators, type MemberRecord } from './accumulators.js';

export interface FamilySources {
  readonly registry: Registry;
  readonly acc: Accumulators;
  readonly getBalancers: () => ReadonlyMap<string, Balancer>;
  readonly drains: DrainRegistry;
  readonly clock: Clock;
}

/**
 * The duration histogram, published from the records' own bucket counts: a metric object of ours
 * in prom-client's registry (its Histogram can only be fed one observation at a time).
 */
function registerDurationFamily(registry: Registry, acc: Accumulators): void {
  const name = 'jkbalancer_member_request_duration_seconds';
  const help = 'Time from receiving a request to the end of the reply, for requests a member answered.';
  const bounds = [...DURATION_BUCKETS.map(String), '+Inf'];
  registry.registerMetric({
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { metricName: string; labels: Record<string, string>; value: number }[] = [];
      for (const r of memberRecords(acc)) {
        let cumulative = 0;
        for (let i = 0; i < bounds.length; i++) {
          cumulative += r.durations[i];
          values.push({ metricName: `${name}_bucket`, labels: { lb: r.lb, member: r.member, le: bounds[i] }, value: cumulative });
        }
        values.push({ metricName: `${name}_sum`, labels: { lb: r.lb, member: r.member }, value: r.durationSum });
        values.push({ metricName: `${name}_count`, labels: { lb: r.lb, member: r.member }, value: cumulative });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  } as unknown as Parameters<Registry['registerMetric']>[0]);
}

function* memberRecords(acc: Accumulators): Generator<MemberRecord> {
  for (const l of acc.lbs.values()) yield* l.members.values();
}

/** Registers every jkbalancer family on the registry; returns the reload counter (the only one set from outside). */
export function registerFamilies(src: FamilySources): Counter<'result'> {
  const { registry, acc, getBalancers, drains, clock } = src;
  const registers = [registry];
  registerDurationFamily(registry, acc);

  new Counter({
    name: 'jkbalancer_member_requests_total',
    help: 'Requests answered by a member, by status class of the reply.',
    labelNames: ['lb', 'member', 'code_class'],
    registers,
    collect() {
      this.reset();
      for (const r of memberRecords(acc)) {
        for (let c = 1; c < CODE_CLASSES.length; c++) {
          if (r.requests[c] > 0) this.inc({ lb: r.lb, member: r.member, code_class: CODE_CLASSES[c] }, r.requests[c]);
        }
      }
    },
  });

  new Gauge({
    name: 'jkbalancer_member_in_flight',
    help: 'Attempts currently in flight on a member.',
    labelNames: ['lb', 'member'],
    registers,
    collect() {
      this.reset();
      for (const r of memberRecords(acc)) this.set({ lb: r.lb, member: r.member }, r.inFlight);
    },
  });

  new Counter({
    name: 'jkbalancer_member_errors_total',
    help: 'Failed attempts on a member, by kind (connect, read, reply_timeout, protocol, busy, fail_status, client_error, too_large, local).',
    labelNames: ['lb', 'member', 'kind'],
    registers,
    collect() {
      this.reset();
      for (const r of memberRecords(acc)) {
        for (let k = 0; k < ERROR_KINDS.length; k++) {
          if (r.errors[k] > 0) this.inc({ lb: r.lb, member: r.member, kind: ERROR_KINDS[k] }, r.errors[k]);
        }
      }
    },
  });

  const byteCounter = (name: string, help: string, bytes: (r: MemberRecord) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['lb', 'member'],
      registers,
      collect() {
        this.reset();
        for (const r of memberRecords(acc)) this.inc({ lb: r.lb, member: r.member }, bytes(r));
      },
    });
  };
  byteCounter('jkbalancer_member_sent_bytes_total', 'Bytes sent to a member (request heads and bodies).', (r) => r.sentBytes);
  byteCounter('jkbalancer_member_received_bytes_total', 'Bytes received from a member (reply heads and bodies).', (r) => r.receivedBytes);

  /** A state set: one series per possible value, 1 for the member's current one. */
  const stateSet = (name: string, help: string, label: string, values: readonly string[], current: (m: MemberRuntime) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['lb', 'member', label],
      registers,
      // --processes: every worker holds the same shared state; summing would count it once per worker.
      aggregator: 'max',
      collect() {
        this.reset();
        for (const [lb, b] of getBalancers()) {
          for (const m of b.members) {
            const now = current(m);
            for (let v = 0; v < values.length; v++) this.set({ lb, member: m.name, [label]: values[v] }, now === v ? 1 : 0);
          }
        }
      },
    });
  };
  stateSet('jkbalancer_member_activation', 'Activation of a member as a state set: 1 for the current one of ACT, DIS, STP.', 'activation', ACT_NAMES, (m) => m.activation);
  stateSet(
    'jkbalancer_member_state',
    'State of a member as a state set: 1 for the current one of OK/IDLE, OK, ERR/REC, ERR/FRC, OK/BUSY, ERR, ERR/PRB.',
    'state',
    STATE_NAMES,
    (m) => m.state,
  );

  new Gauge({
    name: 'jkbalancer_member_sticky_sessions',
    help: 'Distinct session ids routed stickily to a member within the lb drain window (HyperLogLog estimate, ±3.2%).',
    labelNames: ['lb', 'member'],
    registers,
    collect() {
      this.reset();
      const now = clock.now();
      for (const [lb, b] of getBalancers()) {
        const trackers = drains.trackersOf(b);
        for (const m of b.members) this.set({ lb, member: m.name }, trackers[m.index].distinct(now));
      }
    },
  });

  new Gauge({
    name: 'jkbalancer_member_last_sticky_request_timestamp_seconds',
    help: 'Unix time of the last request routed stickily to a member (absent if none yet).',
    labelNames: ['lb', 'member'],
    registers,
    collect() {
      this.reset();
      for (const [lb, b] of getBalancers()) {
        const trackers = drains.trackersOf(b);
        for (const m of b.members) {
          const last = lastSticky(m, trackers[m.index]);
          if (last > 0) this.set({ lb, member: m.name }, last / 1000);
        }
      }
    },
  });

  /** Health-checked members of the current farm with their records (README "Health checks"). */
  function* checked(): Generator<[string, MemberRuntime, HealthRecord]> {
    for (const [lb, b] of getBalancers()) for (const m of b.members) if (m.health !== null) yield [lb, m, m.health];
  }

  new Counter({
    name: 'jkbalancer_health_check_total',
    help: 'Active health checks of a member, by result (pass, fail).',
    labelNames: ['lb', 'member', 'result'],
    registers,
    collect() {
      this.reset();
      for (const [lb, m, h] of checked()) {
        this.inc({ lb, member: m.name, result: 'pass' }, h.passesTotal);
        this.inc({ lb, member: m.name, result: 'fail' }, h.failsTotal);
      }
    },
  });

  new Gauge({
    name: 'jkbalancer_health_check_up',
    help: "Verdict of a member's health checks: 0 after health_check_fails failures in a row, 1 again after health_check_passes passes (absent before the first check).",
    labelNames: ['lb', 'member'],
    registers,
    collect() {
      this.reset();
      for (const [lb, m, h] of checked()) if (h.lastTime > 0) this.set({ lb, member: m.name }, h.up ? 1 : 0);
    },
  });

  new Gauge({
    name: 'jkbalancer_health_check_latency_seconds',
    help: "Duration of a member's last health check, connect included (absent before the first check).",
    labelNames: ['lb', 'member'],
    registers,
    collect() {
      this.reset();
      for (const [lb, m, h] of checked()) if (h.lastTime > 0) this.set({ lb, member: m.name }, h.lastLatencyMs / 1000);
    },
  });

  new Counter({
    name: 'jkbalancer_failovers_total',
    help: 'Requests that moved on from a failed member to another choice, by the kind of the failure.',
    labelNames: ['lb', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const l of acc.lbs.values()) {
        for (let k = 0; k < ERROR_KINDS.length; k++) if (l.failovers[k] > 0) this.inc({ lb: l.lb, reason: ERROR_KINDS[k] }, l.failovers[k]);
      }
    },
  });

  new Counter({
    name: 'jkbalancer_lb_requests_total',
    help: 'Requests through an lb worker, by status class of the reply (including our own 503s).',
    labelNames: ['lb', 'code_class'],
    registers,
    collect() {
      this.reset();
      for (const l of acc.lbs.values()) {
        for (let c = 1; c < CODE_CLASSES.length; c++) if (l.requests[c] > 0) this.inc({ lb: l.lb, code_class: CODE_CLASSES[c] }, l.requests[c]);
      }
    },
  });

  new Counter({
    name: 'jkbalancer_lb_no_member_total',
    help: 'Requests no member of an lb could serve (answered by jkbalancer itself, usually 503).',
    labelNames: ['lb'],
    registers,
    collect() {
      this.reset();
      for (const l of acc.lbs.values()) this.inc({ lb: l.lb }, l.noMember);
    },
  });

  const reloads = new Counter({
    name: 'jkbalancer_config_reloads_total',
    help: 'Configuration reloads, by result (a failed reload keeps the old configuration serving).',
    labelNames: ['result'],
    registers,
  });
  reloads.inc({ result: 'success' }, 0);
  reloads.inc({ result: 'failure' }, 0);
  return reloads;
}
