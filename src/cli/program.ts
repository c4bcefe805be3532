/** The command-line program, assembled from one module per command. */
import { Command, CommanderError } from 'commander';
import { checkCommand } from './check.js';
import { demoCommand } from './demo.js';
import { hashPasswordCommand } from './hash-password.js';
import type { CliContext, CommandModule } from './context.js';
import { startCommand } from './start.js';
import { packageVersion } from './version.js';

/** Every command; a new command is one module plus one entry here. */
const COMMANDS: readonly CommandModule[] = [startCommand, checkCommand, demoCommand, hashPasswordCommand];

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('jkbalancer')
    .description('Sticky-session load balancer for Java application servers, compatible with mod_jk configuration')
    .version(packageVersion())
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) })
    .exitOverride();
  for (const add of COMMANDS) add(program, ctx);
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) });
  return program;
}

/** Runs the program on `argv` (process.argv layout) and resolves with the exit code. */
export async function runCli(argv: readonly string[], io: Pick<CliContext, 'out' | 'err'>): Promise<number> {
  let exitCode = 0;
  const ctx: CliContext = { out: io.out, err: io.err, setExitCode: (code) => (exitCode = code) };
  try {
    await buildProgram(ctx).parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return exitCode;
}
