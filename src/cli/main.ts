/** Process entry point (loaded by bin/jkbalancer.js). */
import { runCli } from './program.js';

try {
  process.exitCode = await runCli(process.argv, {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
  });
} catch (err) {
  process.stderr.write(`jkbalancer: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
