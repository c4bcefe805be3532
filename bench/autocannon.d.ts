// Minimal typing of what the bench uses from autocannon (it ships no types).
declare module 'autocannon' {
  namespace autocannon {
    interface Options {
      url: string;
      connections?: number;
      /** Seconds; ignored when `amount` is set. */
      duration?: number;
      /** Stop after this many requests. */
      amount?: number;
      /** Seconds before a request counts as timed out. */
      timeout?: number;
      headers?: Record<string, string>;
    }
    interface Stat {
      average: number;
      p50: number;
      p99: number;
      /** Completed requests (on `requests`). */
      total: number;
    }
    interface Result {
      requests: Stat;
      latency: Stat;
      errors: number;
      non2xx: number;
      timeouts: number;
    }
  }
  function autocannon(opts: autocannon.Options): Promise<autocannon.Result>;
  export default autocannon;
}
