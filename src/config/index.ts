/**
 * The configuration layer's public face: read workers.properties (+ uriworkermap.properties)
 * into the typed model, or refuse with every problem listed.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './issues.js';
import type { ConfigIssue, MountMap, WorkersConfig } from './model.js';
import { parseMounts } from './mounts.js';
import { parseWorkers } from './workers.js';

export type * from './model.js';
export { ConfigError, formatIssue, formatIssues } from './issues.js';
export { LB_DEFAULTS, parseWorkers, type ParseOptions, type ParsedWorkers } from './workers.js';
export { parseMounts, type ParsedMounts } from './mounts.js';
export { createMountMap } from './mount-map.js';
export { normalizePath, normalizeTarget, type NormalizedTarget } from './normalize.js';

export interface LoadOptions {
  readonly workersFile: string;
  /** uriworkermap.properties; without it only `worker.<name>.mount` patterns map URIs. */
  readonly mountsFile?: string;
  /** Load anything mod_jk loads, reporting its silent fallbacks as warnings. */
  readonly lenient?: boolean;
  /** For `$(NAME)` substitution (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  readonly workers: WorkersConfig;
  readonly mounts: MountMap;
  readonly warnings: readonly ConfigIssue[];
}

function readText(file: string): string | ConfigIssue {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { file, line: 0, directive: '', message: `cannot read the file (${reason})`, severity: 'error' };
  }
}

/** Reads and validates both files; throws ConfigError listing every error (and warning). */
export function loadConfig(opts: LoadOptions): LoadedConfig {
  const parseOpts = { lenient: opts.lenient, env: opts.env };
  const workersText = readText(opts.workersFile);
  if (typeof workersText !== 'string') throw new ConfigError([workersText]);
  const w = parseWorkers(workersText, opts.workersFile, parseOpts);

  let mountsText = '';
  const issues: ConfigIssue[] = [...w.issues];
  if (opts.mountsFile !== undefined) {
    const t = readText(opts.mountsFile);
    if (typeof t === 'string') mountsText = t;
    else issues.push(t);
  }
  const m = parseMounts(mountsText, opts.mountsFile ?? opts.workersFile, w.workers, parseOpts);
  issues.push(...m.issues);

  if (issues.some((i) => i.severity === 'error')) throw new ConfigError(issues);
  return { workers: w.workers, mounts: m.mounts, warnings: issues };
}
