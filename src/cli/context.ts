/**
 * What a command needs from its surroundings: output streams and a way to set the exit code.
 * Injected so tests run commands in-process and read what they print.
 */
export interface CliContext {
  out(text: string): void;
  err(text: string): void;
  setExitCode(code: number): void;
}

/** A command module: adds one command (with its options and action) to the program. */
export type CommandModule = (program: import('commander').Command, ctx: CliContext) => void;
