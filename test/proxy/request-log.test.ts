/**
 * The request log line is built by hand (src/proxy/request-log.ts): whatever the client put in the
 * method, path or cookie route, the line must be one valid JSON object carrying exactly the values
 * given, ms to the tenth, at pino's level for the outcome.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/proxy/log.js';
import { logRequest, type RequestLogLine } from '../../src/proxy/request-log.js';

function capture(level = 'info'): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, logger: createLogger(level, { write: (line: string) => lines.push(line) }) };
}

const base: RequestLogLine = {
  method: 'GET',
  path: '/app/',
  status: 200,
  ms: 1.3,
  lb: 'lb',
  member: 'node1',
  route: 'node1',
  sticky: true,
  path_taken: 'sticky',
  attempts: 1,
  failovers: '',
  reason: '',
  truncated: false,
  client_gone: false,
};

describe('request log line', () => {
  it('is one JSON object with every field as given, for any strings and durations', () => {
    const text = fc.string({ unit: 'grapheme-composite', maxLength: 20 });
    fc.assert(
      fc.property(text, text, text, text, fc.nat(10_000_000), fc.constantFrom('GET', 'POST', 'X\u0001"\\'), (path, route, member, failovers, t, method) => {
        const { lines, logger } = capture();
        const line = { ...base, method, path, route, member, failovers, reason: failovers, ms: Math.round(t) / 10 };
        logRequest(logger, line);
        expect(lines).toHaveLength(1);
        expect(lines[0].endsWith('}\n')).toBe(true);
        const parsed = JSON.parse(lines[0]);
        const { level, time, name, msg, ...fields } = parsed;
        expect(fields).toEqual(line);
        expect(String(parsed.ms)).toBe(String(line.ms));
        expect(name).toBe('jkbalancer');
        expect(typeof time).toBe('number');
        expect([level, msg]).toEqual(line.status >= 500 && member === '' ? [40, 'request failed'] : [30, 'request']);
      }),
      { numRuns: 500 },
    );
  });

  it('a request no member answered is a warning; below the logger level nothing is written', () => {
    const { lines, logger } = capture('warn');
    logRequest(logger, base);
    expect(lines).toHaveLength(0);
    logRequest(logger, { ...base, status: 503, member: '', reason: 'no_member' });
    expect(JSON.parse(lines[0])).toMatchObject({ level: 40, status: 503, msg: 'request failed' });
  });
});
