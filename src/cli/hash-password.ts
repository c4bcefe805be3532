/**
 * `jkbalancer hash-password [user]`: reads a password from stdin and prints a credentials-file line
 * (`user:scrypt$…`) for `start --credentials FILE`, so no password is ever stored in clear text.
 */
import type { Command } from 'commander';
import { hashPassword } from '../status/index.js';
import type { CliContext } from './context.js';

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += (chunk as Buffer).toString('utf8');
  return text.replace(/\r?\n$/, '');
}

export function hashPasswordCommand(program: Command, ctx: CliContext): void {
  program
    .command('hash-password')
    .description('read a password on stdin and print a line for the --credentials file')
    .argument('[user]', 'user name to prefix the hash with', 'admin')
    .action(async (user: string) => {
      if (!/^[^:\s]+$/.test(user)) {
        ctx.err('hash-password: the user name may not contain ":" or whitespace\n');
        ctx.setExitCode(1);
        return;
      }
      const password = await readStdin();
      if (password === '') {
        ctx.err('hash-password: empty password on stdin (e.g. `printf %s "$PW" | jkbalancer hash-password admin`)\n');
        ctx.setExitCode(1);
        return;
      }
      ctx.out(`${user}:${await hashPassword(password)}\n`);
    });
}
