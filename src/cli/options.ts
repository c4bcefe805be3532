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

export type { StartOptions };


export const DEFAULT_WORKERS_FILE = 'conf/workers.properties';
export const DEFAULT_LISTEN = '127.0.0.1:8080';
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10000;
export { DEFAULT_LIMITS };


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

export function parseLogLevel(value: string): LogLevel {
  const level = value.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`expected one of ${LOG_LEVELS.join(', ')}, got '${value}'`);
  return level as LogLevel;
}

/** The flags as commander hands them over (after the per-option parsers above). */
export interface StartFlags {
  readonly workers: string;
  readonly mounts?: string;
  readonly listen: HostPort;
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
  return {
    workersFile: flags.workers,
    mountsFile,
    listenHost: flags.listen.host,
    listenPort: flags.listen.port,
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
  };
}
