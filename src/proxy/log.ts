/**
 * pino logger: JSON lines to stdout; credentials and cookies are redacted wherever they appear.
 *
 * Lines are written in batches: one write of up to LOG_BATCH_BYTES instead of one per request (a
 * write per request line was a measurable share of the proxy's CPU and syscalls). A batch goes out
 * when it is full, at least every LOG_FLUSH_MS, and on reload and stop (flushLogs), so no line of a
 * graceful stop is lost.
 */
import pino, { type Logger } from 'pino';

const LOG_BATCH_BYTES = 8 * 1024;
const LOG_FLUSH_MS = 1000;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'jkbalancer' },
      redact: {
        paths: ['req.headers.cookie', 'req.headers.authorization', 'headers.cookie', 'headers.authorization', 'password'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ fd: 1, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS }),
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
