import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { parseHistoryInterval, parseListen, parseListenList, parseLogLevel, parseMillis, parseRedisUrl, toStartOptions, type StartFlags } from '../../src/cli/options.js';

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
  it('history interval: whole ms from 100 to 60000', () => {
    expect(parseHistoryInterval('250')).toBe(250);
    for (const bad of ['99', '60001', '5s', '']) expect(() => parseHistoryInterval(bad), bad).toThrow(/from 100 to 60000/);
  });

  it('--state-redis URLs', () => {
    for (const ok of ['redis://127.0.0.1:6379/0', 'redis://redis.internal', 'rediss://user:pw@[::1]:6380/2', 'redis://h:1/']) expect(parseRedisUrl(ok)).toBe(ok);
    expect(() => parseRedisUrl('127.0.0.1:6379')).toThrow(/expected redis:\/\/host:port\/db/);
    expect(() => parseRedisUrl('http://h:6379/0')).toThrow(/not a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => parseRedisUrl('redis://h:6379/cache')).toThrow(/database number/);
    expect(() => parseRedisUrl('redis://h:6379/0?x=1')).toThrow(/no query/);
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
    listen: [{ host: '127.0.0.1', port: 8080 }],
    http2MaxStreams: 100,
    logLevel: 'info',
    persist: true,
    shutdownTimeout: 10000,
    headerTimeout: 10000,
    bodyTimeout: 30000,
    maxConnections: 10000,
    forwardUri: 'proxy',
    processes: 1,
    historyInterval: 5000,
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
      historyIntervalMs: 5000,
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
    expect(toStartOptions({ ...base, stateRedis: 'redis://h:6379/1' }, () => true).stateRedis).toBe('redis://h:6379/1');
  });
});

describe('listeners and TLS options', () => {
  const base: StartFlags = {
    workers: 'w.properties',
    logLevel: 'info',
    persist: false,
    shutdownTimeout: 10000,
    headerTimeout: 10000,
    bodyTimeout: 30000,
    maxConnections: 10000,
    forwardUri: 'proxy',
    processes: 1,
    http2MaxStreams: 100,
    historyInterval: 5000,
  };
  const tlsFiles = { tlsCert: 'c.pem', tlsKey: 'k.pem' };

  it('--listen is repeatable and takes comma-separated lists', () => {
    expect(parseListenList('[::1]:80,127.0.0.1:81', [{ host: 'a', port: 1 }])).toEqual([
      { host: 'a', port: 1 },
      { host: '::1', port: 80 },
      { host: '127.0.0.1', port: 81 },
    ]);
    expect(() => parseListenList(',', undefined)).toThrow(/expected host:port/);
  });

  it('no listener given: plain HTTP on the default address, StartOptions as before TLS', () => {
    const o = toStartOptions(base, () => false);
    expect([o.listenHost, o.listenPort, o.listeners, o.tls]).toEqual(['127.0.0.1', 8080, undefined, undefined]);
  });

  it('plain and TLS: plain first; with --redirect-https the TLS listener is the first', () => {
    const flags = { ...base, ...tlsFiles, listen: [{ host: '0.0.0.0', port: 80 }], listenTls: [{ host: '0.0.0.0', port: 443 }] };
    expect(toStartOptions(flags, () => false).listeners).toEqual([
      { host: '0.0.0.0', port: 80, tls: false },
      { host: '0.0.0.0', port: 443, tls: true },
    ]);
    const redirecting = toStartOptions({ ...flags, redirectHttps: true, http2: true }, () => false);
    expect([redirecting.listenPort, redirecting.redirectHttps, redirecting.tls]).toEqual([
      443,
      true,
      { files: { certFile: 'c.pem', keyFile: 'k.pem' }, http2: true, http2MaxStreams: 100 },
    ]);
  });

  it('TLS alone: no plain listener', () => {
    const o = toStartOptions({ ...base, ...tlsFiles, listenTls: [{ host: '127.0.0.1', port: 8443 }] }, () => false);
    expect(o.listeners).toEqual([{ host: '127.0.0.1', port: 8443, tls: true }]);
  });

  it.each<[string, Partial<StartFlags>, RegExp]>([
    ['--listen-tls without files', { listenTls: [{ host: 'h', port: 1 }] }, /--listen-tls needs --tls-cert FILE and --tls-key FILE/],
    ['files without --listen-tls', { ...tlsFiles }, /--tls-cert, --tls-key need a TLS listener/],
    ['--http2 without TLS', { http2: true }, /--http2 need a TLS listener/],
    ['--tls-client-cert without --tls-ca', { ...tlsFiles, listenTls: [{ host: 'h', port: 1 }], tlsClientCert: 'require' }, /needs --tls-ca/],
    ['--tls-ca without --tls-client-cert', { ...tlsFiles, listenTls: [{ host: 'h', port: 1 }], tlsCa: 'ca.pem' }, /give --tls-client-cert/],
    ['--redirect-https without a plain listener', { ...tlsFiles, listenTls: [{ host: 'h', port: 1 }], redirectHttps: true }, /give --listen host:port too/],
  ])('%s is refused', (_name, flags, message) => {
    expect(() => toStartOptions({ ...base, ...flags }, () => false)).toThrow(message);
  });
});

it('README names every option of jkbalancer start, with its environment variable', () => {
  const readme = readFileSync('README.md', 'utf8');
  const start = buildProgram({ out: () => {}, err: () => {}, setExitCode: () => {} }).commands.find((c) => c.name() === 'start')!;
  const missing = start.options.flatMap((o) => {
    return [o.long!, ...(o.envVar ? [o.envVar] : [])].filter((name) => !readme.includes(`\`${name}`));
  });
  expect(missing).toEqual([]);
});
