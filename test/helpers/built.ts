/**
 * Tests that run the real executable need dist/. `npm test` builds it before vitest starts; when a
 * single file is run by hand, build once here. Never rebuild while other test files may be
 * spawning the binary from dist/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function ensureBuilt(): void {
  if (!existsSync('dist/src/cli/main.js')) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'ignore', timeout: 120_000 });
}
