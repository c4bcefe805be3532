/**
 * autocannon in a process of its own, so that the bench can pin the load to its CPU: reads the
 * options as JSON from argv, prints the result as one line of JSON.
 */
import autocannon from 'autocannon';
import type { LoadResult } from './load.js';

const opts = JSON.parse(process.argv[2]) as autocannon.Options;
const r = await autocannon(opts);
const result: LoadResult = {
  requests: r.requests.total,
  rps: r.requests.average,
  p50: r.latency.p50,
  p99: r.latency.p99,
  errors: r.errors + r.non2xx + r.timeouts,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
