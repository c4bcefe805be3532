/**
 * The options of `jkbalancer start`, parsed and typed. The data path's `start(options)` takes
 * a StartOptions; nothing in here does more I/O than checking that a default file exists.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { StartOptions } from '../app/start-options.js';
import { DEFAULT_LIMITS } from '../proxy/limits.js';
import { LOG_LEVELS, type LogLevel } from '../proxy/log.js';
import { FORWARD_URI_MODES, type ForwardUriMode } from '../proxy/request-target.js';
import { CLIENT_CERT_MODES, type ClientCertMode } from '../proxy/tls-context.js';
import type { ListenAddress } from '../proxy/listener.js';
import { DEFAULT_HISTORY_INTERVAL_MS, HISTORY_SLOTS } from '../metrics/history.js';

export type { StartOptions };


export const DEFAULT_WORKERS_FILE = 'conf/workers.properties';
export const DEFAULT_LISTEN = '127.0.0.1:8080';
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10000;
/** HTTP/2 requests one connection may have open at once (what browsers and servers commonly use). */
export const DEFAULT_HTTP2_MAX_STREAMS = 100;
export { DEFAULT_LIMITS, DEFAULT_HISTORY_INTERVAL_MS, HISTORY_SLOTS };


export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `host:port`, `[v6]:port`; port 0 lets the OS choose. Throws an Error saying what is expected. */
export function parseListen(value: string): HostPort {
  const expected = `expected host:port (e.g. 127.0.0.1:8080, localhost:8080 or [::1]:8080), got '${value}'`;
  let host: string;
  let portText: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0 || value[close + 1] !== ':') throw new Error(expected);
    host = value.slice(1, close);
    portText = value.slice(close + 2);
    if (isIP(host) !== 6) throw new Error(`'${host}' in brackets is not an IPv6 address; ${expected}`);
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) throw new Error(expected);
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(':')) throw new Error(`IPv6 addresses need brackets, e.g. [::1]:8080; got '${value}'`);
  }
  if (host === '') throw new Error(`missing host; ${expected}`);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new Error(`port must be a number from 0 to 65535; ${expected}`);
  }
  return { host, port: Number(portText) };
}

/**
 * A repeatable address option (`--listen a --listen b`, or `a,b` in one value or its environment
 * variable): each value adds to the ones before.
 */
export function parseListenList(value: string, previous: readonly HostPort[] | undefined): HostPort[] {
  const added = value.split(',').map((v) => v.trim()).filter((v) => v !== '').map(parseListen);
  if (added.length === 0) throw new Error(`expected host:port, got '${value}'`);
  return [...(previous ?? []), ...added];
}

export function parseClientCertMode(value: string): ClientCertMode {
  const mode = value.toLowerCase();
  if (!(CLIENT_CERT_MODES as readonly string[]).includes(mode)) throw new Error(`expected one of ${CLIENT_CERT_MODES.join(', ')}, got '${value}'`);
  return mode as ClientCertMode;
}

/** A non-negative integer of milliseconds. */
export function parseMillis(value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`expected a whole number of milliseconds, got '${value}'`);
  return Number(value);
}

/** A positive whole number (a count). */
export function parseCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`expected a whole number of 1 or more, got '${value}'`);
  return Number(value);
}

/** `--history-interval`: ms between history samples, 100 ms to 1 min (HISTORY_SLOTS of them are kept). */
export function parseHistoryInterval(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 100 || Number(value) > 60_000) {
    throw new Error(`expected a whole number of milliseconds from 100 to 60000, got '${value}'`);
  }
  return Number(value);
}

/** Comma-separated host names (`--server-name www.example.com,example.com`). */
export function parseNames(value: string): string[] {
  const names = value.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
  for (const n of names) if (!/^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/.test(n)) throw new Error(`'${n}' is not a host name`);
  return names;
}

export function parseForwardUri(value: string): ForwardUriMode {
  const mode = value.toLowerCase();
  if (!(FORWARD_URI_MODES as readonly string[]).includes(mode)) throw new Error(`expected one of ${FORWARD_URI_MODES.join(', ')}, got '${value}'`);
  return mode as ForwardUriMode;
}

/** `--processes`: a count of 1 or more, or `auto` (one per core). */
export function parseProcesses(value: string): number {
  if (value === 'auto') return availableParallelism();
  return parseCount(value);
}

/**
 * `--state-redis`: `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS). Throws an
 * Error saying what is expected; the URL is returned as given (the client reads it).
 */
export function parseRedisUrl(value: string): string {
  const expected = `expected redis://host:port/db (e.g. redis://127.0.0.1:6379/0), got '${value}'`;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new Error(expected);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`not a redis:// or rediss:// URL; ${expected}`);
  if (u.hostname === '') throw new Error(`missing host; ${expected}`);
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d{1,5}$/.test(u.pathname)) throw new Error(`the path must be a database number; ${expected}`);
  if (u.search !== '' || u.hash !== '') throw new Error(`no query or fragment; ${expected}`);
  return value;
}

export function parseLogLevel(value: string): LogLevel {
  const level = value.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`expected one of ${LOG_LEVELS.join(', ')}, got '${value}'`);
  return level as LogLevel;
}

/** The flags as commander hands them over (after the per-option parsers above). */
export interface StartFlags {
  readonly workers: string;
  readonly mounts?: string;
  /** Plain HTTP addresses; absent: DEFAULT_LISTEN, unless TLS addresses are given. */
  readonly listen?: readonly HostPort[];
  readonly listenTls?: readonly HostPort[];
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsCa?: string;
  readonly tlsClientCert?: ClientCertMode;
  readonly http2?: boolean;
  readonly http2MaxStreams: number;
  readonly redirectHttps?: boolean;
  readonly logLevel: LogLevel;
  readonly lenient?: boolean;
  readonly stateFile?: string;
  /** false with --no-persist. */
  readonly persist: boolean;
  readonly credentials?: string;
  readonly metricsListen?: HostPort;
  readonly shutdownTimeout: number;
  readonly serverName?: string[];
  readonly headerTimeout: number;
  readonly bodyTimeout: number;
  readonly maxConnections: number;
  readonly forwardUri: ForwardUriMode;
  readonly processes: number;
  readonly historyInterval: number;
  readonly stateRedis?: string;
}

/**
 * Fills in the defaults that depend on other options:
 * - mounts: `uriworkermap.properties` beside the workers file, if that file exists (as a
 *   mod_jk installation keeps both in one conf directory); otherwise none.
 * - state file: `<workers file>.jkstate.json`, beside the workers file, unless --no-persist.
 */
export function toStartOptions(flags: StartFlags, fileExists: (file: string) => boolean = existsSync): StartOptions {
  const besideWorkers = join(dirname(flags.workers), 'uriworkermap.properties');
  const mountsFile = flags.mounts ?? (fileExists(besideWorkers) ? besideWorkers : undefined);
  const { listeners, tls } = listenersOf(flags);
  const first = listeners[0];
  return {
    workersFile: flags.workers,
    mountsFile,
    listenHost: first.host,
    listenPort: first.port,
    // One plain address is what every start had before TLS: the StartOptions stay as they were.
    ...(listeners.length > 1 || first.tls ? { listeners } : {}),
    ...(tls ? { tls } : {}),
    ...(flags.redirectHttps ? { redirectHttps: true } : {}),
    logLevel: flags.logLevel,
    lenient: flags.lenient ?? false,
    stateFile: flags.persist ? (flags.stateFile ?? `${flags.workers}.jkstate.json`) : null,
    credentialsFile: flags.credentials,
    metricsHost: flags.metricsListen?.host,
    metricsPort: flags.metricsListen?.port,
    shutdownTimeoutMs: flags.shutdownTimeout,
    limits: { headerTimeoutMs: flags.headerTimeout, bodyIdleTimeoutMs: flags.bodyTimeout, maxConnections: flags.maxConnections },
    serverNames: flags.serverName ?? [],
    forwardUri: flags.forwardUri,
    processes: flags.processes,
    historyIntervalMs: flags.historyInterval,
    ...(flags.stateRedis ? { stateRedis: flags.stateRedis } : {}),
  };
}

/**
 * The listeners, plain and TLS, and the TLS settings; throws an Error naming the options that do not
 * go together. The first listener is the status worker's own address: the first plain one, or the
 * first TLS one when there is none or plain HTTP only redirects.
 */
function listenersOf(flags: StartFlags): { listeners: ListenAddress[]; tls: StartOptions['tls'] } {
  const tlsAddresses = flags.listenTls ?? [];
  const plainAddresses = flags.listen ?? (tlsAddresses.length > 0 ? [] : [parseListen(DEFAULT_LISTEN)]);
  const plain = plainAddresses.map((a) => ({ ...a, tls: false }));
  const secure = tlsAddresses.map((a) => ({ ...a, tls: true }));
  const tlsFileFlags = [flags.tlsCert && '--tls-cert', flags.tlsKey && '--tls-key', flags.tlsCa && '--tls-ca', flags.tlsClientCert && '--tls-client-cert', flags.http2 && '--http2', flags.redirectHttps && '--redirect-https'].filter(Boolean);
  if (secure.length === 0) {
    if (tlsFileFlags.length > 0) throw new Error(`${tlsFileFlags.join(', ')} need a TLS listener: give --listen-tls host:port`);
    return { listeners: plain, tls: undefined };
  }
  if (!flags.tlsCert || !flags.tlsKey) throw new Error('--listen-tls needs --tls-cert FILE and --tls-key FILE (PEM)');
  if (flags.tlsClientCert && !flags.tlsCa) throw new Error('--tls-client-cert needs --tls-ca FILE: the CAs client certificates are checked against');
  if (flags.tlsCa && !flags.tlsClientCert) throw new Error('--tls-ca is for client certificates: give --tls-client-cert request or require');
  if (flags.redirectHttps && plain.length === 0) throw new Error('--redirect-https redirects the plain listeners: give --listen host:port too');
  const tls = {
    files: { certFile: flags.tlsCert, keyFile: flags.tlsKey, ...(flags.tlsCa ? { caFile: flags.tlsCa } : {}), ...(flags.tlsClientCert ? { clientCert: flags.tlsClientCert } : {}) },
    http2: flags.http2 ?? false,
    http2MaxStreams: flags.http2MaxStreams,
  };
  const listeners = plain.length === 0 || flags.redirectHttps ? [...secure, ...plain] : [...plain, ...secure];
  return { listeners, tls };
}
