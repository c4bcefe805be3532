/** `jkbalancer start`: option parsing here; the work is done by the data path's start(). */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CliContext } from './context.js';
import {
  DEFAULT_HISTORY_INTERVAL_MS, DEFAULT_HTTP2_MAX_STREAMS, DEFAULT_LIMITS, HISTORY_SLOTS, DEFAULT_LISTEN, DEFAULT_SHUTDOWN_TIMEOUT_MS, DEFAULT_WORKERS_FILE, parseClientCertMode, parseCount, parseListen,
  parseListenList, parseLogLevel, parseMillis, parseForwardUri, parseHistoryInterval, parseNames, parseProcesses, parseRedisUrl, toStartOptions,
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

/** The same for a parser that also takes the option's previous value (repeatable options). */
function arg2<T>(parse: (v: string, previous: T | undefined) => T): (v: string, previous: T | undefined) => T {
  return (v, previous) => {
    try {
      return parse(v, previous);
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
    .addOption(
      new Option('--listen <host:port>', `plain HTTP address to serve clients on; repeatable (default ${DEFAULT_LISTEN} unless --listen-tls is given)`)
        .env('JKB_LISTEN')
        .argParser(arg2(parseListenList)),
    )
    .addOption(new Option('--listen-tls <host:port>', 'HTTPS address to serve clients on; repeatable; needs --tls-cert and --tls-key').env('JKB_LISTEN_TLS').argParser(arg2(parseListenList)))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate of the TLS listeners, followed by its chain (reloaded on SIGHUP)').env('JKB_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert (reloaded on SIGHUP)').env('JKB_TLS_KEY'))
    .addOption(new Option('--tls-ca <file>', 'PEM CAs that client certificates must chain to').env('JKB_TLS_CA'))
    .addOption(new Option('--tls-client-cert <mode>', 'ask clients for a certificate: request (optional) or require').env('JKB_TLS_CLIENT_CERT').argParser(arg(parseClientCertMode)))
    .addOption(new Option('--http2', 'offer HTTP/2 (ALPN h2) besides HTTP/1.1 on the TLS listeners').env('JKB_HTTP2'))
    .addOption(
      new Option('--http2-max-streams <n>', 'requests one HTTP/2 connection may have open at once').env('JKB_HTTP2_MAX_STREAMS').default(DEFAULT_HTTP2_MAX_STREAMS).argParser(arg(parseCount)),
    )
    .addOption(new Option('--redirect-https', 'the plain listeners redirect every request to the first TLS listener').env('JKB_REDIRECT_HTTPS'))
    .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent').env('JKB_LOG_LEVEL').default('info').argParser(arg(parseLogLevel)))
    .option('--lenient', 'load anything mod_jk loads; its silent fallbacks become warnings')
    .addOption(new Option('--state-file <file>', 'where live changes are kept (default: <workers file>.jkstate.json)').env('JKB_STATE_FILE'))
    .option('--no-persist', 'do not keep live changes across restarts')
    .addOption(
      new Option('--state-redis <url>', 'share the admin state with the other instances using this Redis (redis://host:port/db)').env('JKB_STATE_REDIS').argParser(arg(parseRedisUrl)),
    )
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
    .addOption(
      new Option('--history-interval <ms>', `time between two samples of the status page's history (${HISTORY_SLOTS} are kept: an hour at the default)`)
        .env('JKB_HISTORY_INTERVAL')
        .default(DEFAULT_HISTORY_INTERVAL_MS)
        .argParser(arg(parseHistoryInterval)),
    )
    .action(async (flags: StartFlags, command: Command) => {
      let options;
      try {
        options = toStartOptions(flags);
      } catch (err) {
        command.error(`error: ${(err as Error).message}`);
      }
      const { start } = await import('../app/start.js');
      await start(options);
    });
}
