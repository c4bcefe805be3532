/** `jkbalancer check`: validate the configuration, print a summary or every error. */
import type { Command } from 'commander';
import { ConfigError, formatIssues, loadConfig, type ConfigIssue } from '../config/index.js';
import type { CliContext } from './context.js';
import { formatSummary } from './summary.js';

interface CheckFlags {
  readonly workers: string;
  readonly mounts?: string;
  readonly lenient?: boolean;
}

function printIssues(ctx: CliContext, issues: readonly ConfigIssue[]): void {
  if (issues.length > 0) ctx.err(`${formatIssues(issues)}\n`);
}

export function checkCommand(program: Command, ctx: CliContext): void {
  program
    .command('check')
    .description('validate workers.properties (and uriworkermap.properties) and print what they define')
    .requiredOption('--workers <file>', 'workers.properties')
    .option('--mounts <file>', 'uriworkermap.properties')
    .option('--lenient', 'accept anything mod_jk accepts; its silent fallbacks become warnings')
    .action((flags: CheckFlags) => {
      try {
        const config = loadConfig({ workersFile: flags.workers, mountsFile: flags.mounts, lenient: flags.lenient });
        ctx.out(formatSummary(config));
        printIssues(ctx, config.warnings);
        ctx.out('configuration OK\n');
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const errors = err.issues.filter((i) => i.severity === 'error');
        printIssues(ctx, [...errors, ...err.issues.filter((i) => i.severity === 'warning')]);
        ctx.err(`${errors.length} error${errors.length === 1 ? '' : 's'}: configuration refused\n`);
        ctx.setExitCode(1);
      }
    });
}
