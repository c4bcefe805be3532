/**
 * Errors that would have ended a real balancer process (an uncaught exception, an unhandled
 * rejection), collected for the test file that calls this at its top level instead of ending the
 * test run. The returned list is live: empty it between cases if needed.
 */
import { afterAll, beforeAll } from 'vitest';

export function recordEscapes(): unknown[] {
  const escaped: unknown[] = [];
  const record = (err: unknown): void => {
    escaped.push(err);
  };
  beforeAll(() => {
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
  });
  afterAll(() => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
  });
  return escaped;
}
