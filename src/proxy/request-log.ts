/**
 * One JSON line per proxied request, in the same format as every pino line (level, time, name,
 * fields, msg), written straight to the logger's destination: built by hand it costs a fraction of
 * pino's generic serialisation, which every request paid. Query strings, cookies and credentials
 * are never in it; every string is JSON-escaped (the path and the route come from the client).
 */
import type { Logger } from 'pino';
import { LOG_NAME, destinationOf } from './log.js';

export interface RequestLogLine {
  method: string;
  path: string;
  status: number;
  ms: number;
  lb: string;
  member: string;
  route: string;
  sticky: boolean;
  path_taken: string;
  attempts: number;
  failovers: string;
  reason: string;
  /** The reply's head went out but its body broke off. */
  truncated: boolean;
  client_gone: boolean;
}

/** pino's level numbers. */
const INFO = 30;
const WARN = 40;
const NAME = JSON.stringify(LOG_NAME);
const q = JSON.stringify;

/**
 * The same few strings recur on every line (lb and member names, path_taken, the method): each is
 * quoted once. Bounded, since a method is the client's to choose.
 */
const QUOTED = new Map<string, string>();
const QUOTED_MAX = 1024;
function quotedName(s: string): string {
  let v = QUOTED.get(s);
  if (v === undefined) {
    v = q(s);
    if (QUOTED.size < QUOTED_MAX) QUOTED.set(s, v);
  }
  return v;
}

/** A string that is usually empty. */
function quotedOrEmpty(s: string): string {
  return s === '' ? '""' : q(s);
}

/** Milliseconds with one decimal, as the number Math.round(ms * 10) / 10 prints, without a float to format. */
function tenths(ms: number): string {
  const t = Math.round(ms * 10);
  const r = t % 10;
  return r === 0 ? String(t / 10) : `${(t - r) / 10}.${r}`;
}

/** Level by outcome: warn when no member could answer. */
export function logRequest(logger: Logger, l: RequestLogLine): void {
  const failed = l.status >= 500 && l.member === '';
  const level = failed ? WARN : INFO;
  if (logger.levelVal > level) return;
  destinationOf(logger).write(
    `{"level":${level},"time":${Date.now()},"name":${NAME},"method":${quotedName(l.method)},"path":${q(l.path)},"status":${l.status},"ms":${tenths(l.ms)},` +
      `"lb":${quotedName(l.lb)},"member":${quotedName(l.member)},"route":${quotedOrEmpty(l.route)},"sticky":${l.sticky},"path_taken":${quotedName(l.path_taken)},` +
      `"attempts":${l.attempts},"failovers":${quotedOrEmpty(l.failovers)},"reason":${quotedOrEmpty(l.reason)},"truncated":${l.truncated},"client_gone":${l.client_gone},` +
      `"msg":${failed ? '"request failed"' : '"request"'}}\n`,
  );
}
