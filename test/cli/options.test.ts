import { describe, expect, it } from 'vitest';
import { parseListen, parseLogLevel, parseMillis, toStartOptions, type StartFlags } from '../../src/cli/options.js';

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:8080', '127.0.0.1', 8080],
    ['localhost:0', 'localhost', 0],
    ['0.0.0.0:65535', '0.0.0.0', 65535],
    ['[::1]:8080', '::1', 8080],
    ['[::]:80', '::', 80],
  ])('%s', (s, host, port) => expect(parseListen(s)).toEqual({ host, port }));

  it.each([
    ['8080', /expected host:port/],
    [':8080', /missing host/],
    ['host:', /port must be a number/],
    ['host:http', /port must be a number/],
    ['host:65536', /port must be a number/],
    ['::1:8080', /IPv6 addresses need brackets/],
    ['[::1]8080', /expected host:port/],
    ['[nothex]:80', /not an IPv6 address/],
  ])('%s is refused', (s, message) => expect(() => parseListen(s)).toThrow(message));
});

describe('other option parsers', () => {
  it('log levels', () => {
    expect(parseLogLevel('DEBUG')).toBe('debug');
    expect(() => parseLogLevel('loud')).toThrow(/expected one of trace, debug/);
  });
  it('milliseconds', () => {
    expect(parseMillis('2500')).toBe(2500);
    expect(() => parseMillis('-1')).toThrow(/whole number/);
    expect(() => parseMillis('1.5')).toThrow(/whole number/);
  });
});

describe('toStartOptions', () => {
  const base: StartFlags = {
    workers: 'conf/workers.properties',
    listen: { host: '127.0.0.1', port: 8080 },
    logLevel: 'info',
    persist: true,
    shutdownTimeout: 10000,
    headerTimeout: 10000,
    bodyTimeout: 30000,
    maxConnections: 10000,
    forwardUri: 'proxy',
    processes: 1,
  };

  it('defaults: mounts beside the workers file when present, state file beside it', () => {
    const o = toStartOptions(base, (f) => f === 'conf/uriworkermap.properties');
    expect(o).toEqual({
      workersFile: 'conf/workers.properties',
      mountsFile: 'conf/uriworkermap.properties',
      listenHost: '127.0.0.1',
      listenPort: 8080,
      logLevel: 'info',
      lenient: false,
      stateFile: 'conf/workers.properties.jkstate.json',
      credentialsFile: undefined,
      metricsHost: undefined,
      metricsPort: undefined,
      shutdownTimeoutMs: 10000,
      limits: { headerTimeoutMs: 10000, bodyIdleTimeoutMs: 30000, maxConnections: 10000 },
      serverNames: [],
      processes: 1,
      forwardUri: 'proxy',
    });
  });

  it('no uriworkermap.properties beside the workers file: no mounts file', () => {
    expect(toStartOptions({ ...base, workers: '/etc/jk/w.properties' }, () => false).mountsFile).toBeUndefined();
  });

  it('explicit values win; --no-persist gives no state file', () => {
    const o = toStartOptions(
      { ...base, mounts: 'm.properties', stateFile: 's.json', lenient: true, credentials: 'c', metricsListen: { host: '::1', port: 9100 } },
      () => true,
    );
    expect([o.mountsFile, o.stateFile, o.lenient, o.credentialsFile, o.metricsHost, o.metricsPort]).toEqual(['m.properties', 's.json', true, 'c', '::1', 9100]);
    expect(toStartOptions({ ...base, stateFile: 's.json', persist: false }, () => true).stateFile).toBeNull();
  });
});
