/**
 * `npm run bench`: the cost of a proxied request, in one run on the same backends — direct, a bare
 * undici-dispatch forwarder (forwarder.ts) and jkbalancer (started as `jkbalancer start` runs it),
 * on static backends (with and without --state-redis, if a redis-server is installed) and on
 * Tomcat 10 over HTTP and AJP. Columns: req/s, latency, errors and the
 * proxy process's CPU µs per request, with its ratio to the bare forwarder's. Proxies run on one
 * CPU, load generator and backends on the other, when taskset can pin them. Nothing is asserted:
 * it is a measurement. `--strace` counts syscalls per request instead (syscalls.ts), `--cpu-prof`
 * profiles the proxies (profile.ts), `--instructions` counts their user-space instructions per
 * request under callgrind (instructions.ts).
 *
 *   npm run bench -- [--duration 10] [--warmup 2] [--connections 50] [--repeat N] [--json] [--no-tomcat] [--strace | --cpu-prof | --instructions]
 */
import { parseArgs, type BenchOptions } from './args.js';
import { loadTool } from './load.js';
import { measureAll, type Row, type Target } from './measure.js';
import { LOAD_CPU, PROXY_CPU, canPin, cleanup, pinSelf } from './procs.js';
import { countInstructions } from './instructions.js';
import { profileProxies } from './profile.js';
import { staticTargets } from './static-rows.js';
import { printSyscallTables, traceAll } from './syscalls.js';
import { printTable } from './table.js';
import { stopTomcats, tomcatTargets } from './tomcat-rows.js';

const fixed = (n: number | null, digits = 0) => (n === null ? '–' : n.toFixed(digits));
const times = (n: number | null) => (n === null ? '' : `${n.toFixed(2)}×`);
const percent = (n: number | null) => (n === null ? '–' : `${n.toFixed(0)} %`);

function printRows(rows: Row[]): void {
  printTable(
    ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/req', '× bare', 'AJP ÷ HTTP', 'proxy busy', `other on CPU ${PROXY_CPU}`],
    rows.map((r) => [
      r.scenario, fixed(r.rps), fixed(r.p50, 2), fixed(r.p99, 2), String(r.errors), fixed(r.cpuUsPerReq, 1), times(r.vsBare), times(r.ajpVsHttp),
      percent(r.proxyBusyPct), percent(r.otherLoadPct),
    ]),
  );
}

async function targets(o: BenchOptions, say: (msg: string) => void): Promise<Target[]> {
  const all = await staticTargets(say);
  if (o.tomcat) all.push(...(await tomcatTargets(o.connections, say)));
  return all;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const say = (msg: string) => {
    if (!o.json) process.stderr.write(`${msg}\n`);
  };
  pinSelf();
  const pinning = canPin
    ? `proxy processes pinned to CPU ${PROXY_CPU}; load generator, backends and Tomcat to CPU ${LOAD_CPU} (taskset)`
    : 'not pinned (no taskset or fewer than 2 CPUs): proxies, load and backends share the CPUs';
  say(`jkbalancer bench: node ${process.version}, load ${loadTool}, ${o.connections} connections`);
  say(pinning);
  if (o.cpuProf) return profileProxies({ ...o, say });
  if (o.instructions) return countInstructions({ requests: o.instructionRequests, json: o.json, say });
  const all = await targets(o, say);

  if (o.strace) {
    const perReq = await traceAll(all, { requests: o.straceRequests, warmup: o.warmup, connections: o.connections, say });
    if (o.json) console.log(JSON.stringify({ node: process.version, requests: o.straceRequests, pinning, syscallsPerRequest: perReq }, null, 2));
    else printSyscallTables(all, perReq);
    return;
  }

  say(`${o.duration} s per row after ${o.warmup} s of warm-up${o.repeat > 1 ? `; ${o.repeat} rounds, medians (errors summed)` : ''}`);
  const rows = await measureAll(all, { ...o, say });
  if (o.json) {
    console.log(JSON.stringify({ node: process.version, load: loadTool, pinning, duration: o.duration, warmup: o.warmup, connections: o.connections, repeat: o.repeat, rows }, null, 2));
    return;
  }
  printRows(rows);
  console.log(`\nCPU µs/req: the proxy process's user+system CPU time (/proc/<pid>/stat, all threads) over the measured window ÷ requests completed.`);
  console.log('proxy busy: that CPU time ÷ the window; well below 100 % the proxy waited for the load side and paid more per request (less batching).');
  console.log(`${pinning}.`);
  if (canPin) console.log(`other on CPU ${PROXY_CPU}: its busy time not accounted to the row's proxy (other processes, interrupts, steal), % of the row; a row with much of it is suspect.`);
  console.log('Compare rows within one run only: the machine is shared and noisy, and figures from different runs are not comparable.');
}

main()
  .catch((err) => {
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopTomcats();
    cleanup();
  });
