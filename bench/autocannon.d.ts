// Minimal typing of what the bench uses from autocannon (it ships no types).
declare module 'autocannon' {
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    pipelining?: number;
    headers?: Record<string, string>;
  }
  interface Stat {
    average: number;
    mean: number;
    p50: number;
    p99: number;
  }
  interface Result {
    requests: Stat;
    latency: Stat;
    errors: number;
    non2xx: number;
    timeouts: number;
    '2xx': number;
  }
  function autocannon(opts: Options): Promise<Result>;
  export default autocannon;
}
