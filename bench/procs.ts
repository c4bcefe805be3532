/**
 * The bench's child processes: spawned pinned to a CPU when `taskset` can do it, tracked, and all
 * killed when the bench ends however it ends (normal exit, error, Ctrl-C, SIGTERM).
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { availableParallelism, constants } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (these files run compiled, from dist/bench). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The path of an executable on PATH, or null. */
export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

const children = new Set<ChildProcess>();
const cleanups: (() => void)[] = [];

/** CPU numbers when pinning is possible: proxies on one core, everything else on the other. */
export const PROXY_CPU = 0;
export const LOAD_CPU = 1;
export const canPin = availableParallelism() >= 2 && which('taskset') !== null;
/** Every core of the machine, taken before pinSelf: after it, this process sees its one core only. */
const EVERY_CPU = `0-${availableParallelism() - 1}`;

/**
 * Puts this process (and so every child that is not pinned elsewhere, Tomcat included) on the load
 * CPU; the proxies are the only processes on the other one.
 */
export function pinSelf(): void {
  if (canPin) execFileSync('taskset', ['-a', '-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
}

/** Spawns `cmd args` on `cpu` (taskset execs the command, so the pid is the command's own). */
/**
 * `cpu` null: every core (the `--processes` rows). Said explicitly: a plain child would inherit the
 * bench's own pinning to the load CPU (pinSelf), and the "unpinned" processes would share one core.
 */
export function spawnOn(cpu: number | null, cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const cpus = cpu === null ? EVERY_CPU : String(cpu);
  const child = canPin ? spawn('taskset', ['-c', cpus, cmd, ...args], options) : spawn(cmd, args, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Runs at cleanup, once the children are killed (temp dirs). */
export function onCleanup(fn: () => void): void {
  cleanups.push(fn);
}

let cleaned = false;
/** Kills every child still running; synchronous so it also works from an 'exit' handler. */
export function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  // SIGKILL: nothing of theirs is needed any more, and nothing may outlive the bench.
  for (const c of children) c.kill('SIGKILL');
  for (const fn of cleanups) fn();
}

process.once('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    cleanup();
    process.exit(128 + constants.signals[sig]);
  });
}

/** The first stdout line of a child that announces itself with one line of JSON (its ports). */
export function firstJsonLine<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      resolve(JSON.parse(buf.slice(0, nl)) as T);
    };
    const onExit = (code: number | null) => reject(new Error(`${what} exited (code ${code}) before it was ready`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * User + system CPU time of a whole process (all its threads: GC, libuv pool) in µs, from
 * /proc/<pid>/stat; null where there is no /proc.
 */
/** CPU time of `pid` and of its live child processes (a `--processes` balancer's workers), µs. */
export function cpuTimeUs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ')' that closes the command name start at field 3 (state); utime is 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let us = ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
    for (const child of childrenOf(pid)) us += cpuTimeUs(child) ?? 0;
    return us;
  } catch {
    return null;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Time CPU `cpu` spent busy (user, nice, system, irq, softirq, and steal: the hypervisor's share),
 * µs, from /proc/stat; null where there is no /proc. Minus the proxy's own CPU time, it says how
 * much else ran on the proxy's core during a row: on a shared machine, the row's credibility.
 */
export function cpuBusyUs(cpu: number): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
    if (!line) return null;
    const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
    return ((user + nice + system + irq + softirq + steal) * 1e6) / CLK_TCK;
  } catch {
    return null;
  }
}
