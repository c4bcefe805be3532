import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding jkbalancer's package.json, found by walking up from this module: it runs from
 * src/cli (tests) as well as dist/src/cli (built), at different depths.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'jkbalancer') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the jkbalancer package folder');
    dir = parent;
  }
}
