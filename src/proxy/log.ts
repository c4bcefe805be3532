/**
 * pino logger: JSON lines to stdout; credentials and cookies are redacted wherever they appear.
 * Lines go out in batches (log-writer.ts): at least every second, and on reload and stop
 * (flushLogs), so no line of a graceful stop is lost.
 */
import pino, { type Logger } from 'pino';
import { BatchedLogWriter } from './log-writer.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The `name` of every line. */
export const LOG_NAME = 'jkbalancer';

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: LOG_NAME },
      redact: {
        paths: ['req.headers.cookie', 'req.headers.authorization', 'headers.cookie', 'headers.authorization', 'password'],
        censor: '[redacted]',
      },
    },
    destination ?? new BatchedLogWriter(1),
  );
}

/** Resolves once every line logged so far has been written (bounded: a stuck stdout cannot hold a stop). */
export function flushLogs(logger: Logger, timeoutMs = 2000): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    try {
      logger.flush(() => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

/**
 * The destination a logger writes to: the request log writes its lines there itself, in the
 * format pino gives every other line (request-log.ts).
 */
export function destinationOf(logger: Logger): { write(line: string): unknown } {
  return (logger as unknown as Record<symbol, { write(line: string): unknown }>)[pino.symbols.streamSym];
}
