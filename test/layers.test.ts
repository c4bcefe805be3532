/**
 * The dependency arrows of src/ point down: cli → app → {proxy, status, metrics} → http → routing
 * → config. A module imports from its own directory or a lower layer, never up and never sideways
 * between proxy, status and metrics; the routing core imports no I/O module.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve('src');
/** Layer of each top-level directory: a lower number may import a higher one. */
const LAYER: Record<string, number> = { cli: 0, app: 1, proxy: 2, status: 2, metrics: 2, http: 3, routing: 4, config: 5 };

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function topDir(file: string): string {
  return relative(SRC, file).split('/')[0];
}

/** Every `from '…'` and `import('…')` specifier of a file. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\()\s*'([^']+)'/g)].map((m) => m[1]);
}

describe('layers of src/', () => {
  const files = sources(SRC);

  it('every top-level directory has a layer', () => {
    expect(files.map(topDir).filter((d) => !(d in LAYER))).toEqual([]);
  });

  it('no import runs up or sideways', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = topDir(file);
      for (const spec of specifiers(file)) {
        if (!spec.startsWith('.')) continue;
        const to = topDir(resolve(dirname(file), spec));
        if (to === from) continue;
        if (!(LAYER[to] > LAYER[from])) wrong.push(`${relative(SRC, file)} → ${spec} (${from} may not import ${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the routing core does no I/O', () => {
    const io: string[] = [];
    for (const file of files.filter((f) => topDir(f) === 'routing')) {
      for (const spec of specifiers(file)) {
        if (spec.startsWith('node:') || ['undici', 'pino', 'prom-client', 'http-proxy-3'].includes(spec)) io.push(`${relative(SRC, file)} → ${spec}`);
      }
    }
    expect(io).toEqual([]);
  });
});
