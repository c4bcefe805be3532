/** `jkbalancer start` as a real child process (from dist/), with its stdout log readable by the test. */
import { spawn, type ChildProcess } from 'node:child_process';
import { ensureBuilt } from './built.js';

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout so far. */
  out(): string;
  /** Resolves once stdout matches `re` (log lines go out in batches, within a second). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  /** The exit code, once the process ended. */
  readonly exited: Promise<number | null>;
}

/** Processes still running when the test file's process ends (a test failed before stopping them). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export function startCli(args: readonly string[]): CliProcess {
  ensureBuilt();
  const child = spawn(process.execPath, ['bin/jkbalancer.js', 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  // 'exit' can come before the last of stdout has been read (the log batch flushed at exit, the
  // "stopped" line): settle on 'close', when the pipes are drained. Bounded, since a worker process
  // that inherited the pipes could outlive the primary.
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      const late = setTimeout(() => r(code), 5000);
      child.once('close', () => {
        clearTimeout(late);
        r(code);
      });
    }),
  );
  return {
    child,
    out: () => out,
    exited,
    async waitFor(re: RegExp, timeoutMs = 15_000): Promise<void> {
      for (const end = Date.now() + timeoutMs; !re.test(out); ) {
        if (Date.now() > end) {
          // Nothing will stop a process whose start the test never saw: it would outlive the run.
          child.kill('SIGKILL');
          throw new Error(`timed out waiting for ${re}; log so far:\n${out}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
