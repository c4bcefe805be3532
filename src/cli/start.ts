/** `jkbalancer start`: option parsing here; the work is done by the data path's start(). */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CliContext } from './context.js';
import {
  DEFAULT_LIMITS, DEFAULT_LISTEN, DEFAULT_SHUTDOWN_TIMEOUT_MS, DEFAULT_WORKERS_FILE, parseCount, parseListen, parseLogLevel, parseMillis,
  parseForwardUri, parseNames, parseProcesses, toStartOptions,
  type StartFlags,
} from './options.js';

/** Turns a parser's Error into commander's "argument is invalid" message. */
function arg<T>(parse: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

export function startCommand(program: Command, _ctx: CliContext): void {
  program
    .command('start')
    .description('run the balancer')
    .addOption(new Option('--workers <file>', 'workers.properties').env('JKB_WORKERS').default(DEFAULT_WORKERS_FILE))
    .addOption(
      new Option('--mounts <file>', 'uriworkermap.properties (default: uriworkermap.properties beside the workers file, if present)').env('JKB_MOUNTS'),
    )
    .addOption(new Option('--listen <host:port>', 'address to serve clients on').env('JKB_LISTEN').default(parseListen(DEFAULT_LISTEN), DEFAULT_LISTEN).argParser(arg(parseListen)))
    .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent').env('JKB_LOG_LEVEL').default('info').argParser(arg(parseLogLevel)))
    .option('--lenient', 'load anything mod_jk loads; its silent fallbacks become warnings')
    .addOption(new Option('--state-file <file>', 'where live changes are kept (default: <workers file>.jkstate.json)').env('JKB_STATE_FILE'))
    .option('--no-persist', 'do not keep live changes across restarts')
    .addOption(new Option('--credentials <file>', 'credentials for the status worker').env('JKB_CREDENTIALS'))
    .addOption(new Option('--metrics-listen <host:port>', 'separate address for /metrics').env('JKB_METRICS_LISTEN').argParser(arg(parseListen)))
    .addOption(
      new Option('--shutdown-timeout <ms>', 'grace period for in-flight requests on shutdown')
        .default(DEFAULT_SHUTDOWN_TIMEOUT_MS)
        .argParser(arg(parseMillis)),
    )
    .addOption(
      new Option('--server-name <names>', "the balancer's own host names, comma-separated (status changes only for requests to these, loopback names and the listen address)")
        .env('JKB_SERVER_NAME')
        .argParser(arg(parseNames)),
    )
    .addOption(
      new Option('--header-timeout <ms>', 'time a client has to send a request head').env('JKB_HEADER_TIMEOUT').default(DEFAULT_LIMITS.headerTimeoutMs).argParser(arg(parseMillis)),
    )
    .addOption(
      new Option('--body-timeout <ms>', 'time a request body may go without a byte (then 408)').env('JKB_BODY_TIMEOUT').default(DEFAULT_LIMITS.bodyIdleTimeoutMs).argParser(arg(parseMillis)),
    )
    .addOption(
      new Option('--max-connections <n>', 'client connections open at once; more are refused').env('JKB_MAX_CONNECTIONS').default(DEFAULT_LIMITS.maxConnections).argParser(arg(parseCount)),
    )
    .addOption(
      new Option('--forward-uri <mode>', "request URI for members: proxy (normalised, re-encoded: mod_jk's default) or unparsed (as received)")
        .env('JKB_FORWARD_URI')
        .default('proxy')
        .argParser(arg(parseForwardUri)),
    )
    .addOption(
      new Option('--processes <n>', "worker processes serving traffic, or 'auto' (one per core); the primary owns the admin state")
        .env('JKB_PROCESSES')
        .default(1)
        .argParser(arg(parseProcesses)),
    )
    .action(async (flags: StartFlags) => {
      const options = toStartOptions(flags);
      const { start } = await import('../app/start.js');
      await start(options);
    });
}
