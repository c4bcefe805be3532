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

/** Level by outcome: warn when no member could answer. */
export function logRequest(logger: Logger, l: RequestLogLine): void {
  const failed = l.status >= 500 && l.member === '';
  const level = failed ? WARN : INFO;
  if (logger.levelVal > level) return;
  destinationOf(logger).write(
    `{"level":${level},"time":${Date.now()},"name":${NAME},"method":${q(l.method)},"path":${q(l.path)},"status":${l.status},"ms":${l.ms},` +
      `"lb":${q(l.lb)},"member":${q(l.member)},"route":${q(l.route)},"sticky":${l.sticky},"path_taken":${q(l.path_taken)},` +
      `"attempts":${l.attempts},"failovers":${q(l.failovers)},"reason":${q(l.reason)},"truncated":${l.truncated},"client_gone":${l.client_gone},` +
      `"msg":${failed ? '"request failed"' : '"request"'}}\n`,
  );
}
