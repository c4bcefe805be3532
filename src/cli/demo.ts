/**
 * `jkbalancer demo`: three demo backends that behave like Tomcat instances with a jvmRoute, the
 * balancer in front of them on the conf/ samples, and the status page — one command, no setup.
 * Ports are the samples' (8080, 8081–8083) unless taken or overridden; then free ones are used.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { loadConfig } from '../config/index.js';
import type { LbConfig } from '../config/model.js';
import { createLogger, flushLogs } from '../proxy/log.js';
import type { CliContext } from './context.js';
import { startDemoBackend, type DemoBackend } from './demo-backend.js';
import { parseListen } from './options.js';
import { packageRoot } from './package-root.js';

interface DemoFlags {
  listen: string;
  json?: boolean;
}

/** The wanted port if it is free on host, else one the OS picks. */
async function portOrFree(host: string, wanted: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | null>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(null));
      srv.listen(port, host, () => {
        const got = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(got));
      });
    });
  return (await tryListen(wanted)) ?? (await tryListen(0))!;
}

export function demoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('start three demo backends, the balancer on conf/ samples and the status page')
    .addOption(new Option('--listen <host:port>', 'balancer address (a free port is used if it is taken)').env('JKB_LISTEN').default('127.0.0.1:8080'))
    .option('--json', 'JSON log lines on stdout instead of the friendly summary')
    .action(async (flags: DemoFlags) => {
      const { host, port } = parseListen(flags.listen);
      const root = packageRoot();
      const confWorkers = join(root, 'conf/workers.properties');
      const confMounts = join(root, 'conf/uriworkermap.properties');
      const lb = [...loadConfig({ workersFile: confWorkers, mountsFile: confMounts }).workers.workers.values()].find((w): w is LbConfig => w.type === 'lb');
      if (!lb) throw new Error(`${confWorkers} defines no lb worker`);

      // Start one backend per member, on the member's port when free, and point a copy of the samples at them.
      const backends: DemoBackend[] = [];
      let workersText = readFileSync(confWorkers, 'utf8');
      for (const m of lb.members) {
        const b = await startDemoBackend(m.route, await portOrFree('127.0.0.1', m.port));
        backends.push(b);
        if (b.port !== m.port) {
          const line = new RegExp(`^worker\\.${m.name}\\.port=.*$`, 'm');
          workersText = line.test(workersText) ? workersText.replace(line, `worker.${m.name}.port=${b.port}`) : `${workersText}\nworker.${m.name}.port=${b.port}\n`;
        }
      }
      const dir = mkdtempSync(join(tmpdir(), 'jkbalancer-demo-'));
      const workersFile = join(dir, 'workers.properties');
      writeFileSync(workersFile, workersText);

      const listenPort = await portOrFree(host, port);
      const { launch } = await import('../app/start.js');
      const logger = createLogger(flags.json ? 'info' : 'warn');
      const running = await launch(
        { workersFile, mountsFile: confMounts, listenHost: host, listenPort, logLevel: flags.json ? 'info' : 'warn', lenient: false, stateFile: null, shutdownTimeoutMs: 2000 },
        logger,
      );
      const base = `http://${host.includes(':') ? `[${host}]` : host}:${running.address.port}`;
      if (flags.json) {
        logger.info({ app: `${base}/`, status: `${base}/jkstatus/`, backends: backends.map((b) => ({ route: b.route, port: b.port })) }, 'demo ready');
      } else {
        ctx.out(
          [
            '',
            `  jkbalancer demo — 3 backends (${backends.map((b) => `${b.route}:${b.port}`).join(', ')}) behind one balancer`,
            '',
            `  App:          ${base}/`,
            `  Status page:  ${base}/jkstatus/`,
            '',
            '  Try this: open the app and note the node; on the status page disable (drain) that node;',
            '  reload the app: you stay (sticky). Open a private window: you land on another node.',
            '',
            '  Ctrl-C stops everything.',
            '',
          ].join('\n'),
        );
      }

      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await running.stop();
      await Promise.all(backends.map((b) => b.close()));
      rmSync(dir, { recursive: true, force: true });
      if (!flags.json) ctx.out('  stopped.\n');
      await flushLogs(logger);
      process.exit(0);
    });
}
