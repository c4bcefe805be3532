/**
 * Collecting configuration problems: every problem is kept (not just the first) with its
 * file, line and directive, so `check` can list them all at once.
 */
import type { ConfigIssue, SourceRef } from './model.js';

/** `file:line: directive: message` (line and directive left out when unknown). */
export function formatIssue(issue: ConfigIssue): string {
  const place = issue.line > 0 ? `${issue.file}:${issue.line}` : issue.file;
  return issue.directive ? `${place}: ${issue.directive}: ${issue.message}` : `${place}: ${issue.message}`;
}

/** One issue per line, in the given order; warnings are marked `warning: `. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => (i.severity === 'warning' ? `warning: ${formatIssue(i)}` : formatIssue(i))).join('\n');
}

/** Thrown by loadConfig when the configuration has errors; `issues` holds errors and warnings. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    const warnings = issues.filter((i) => i.severity === 'warning');
    super(`configuration has ${errors.length} error${errors.length === 1 ? '' : 's'}:\n${formatIssues([...errors, ...warnings])}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Issue collector for one parse. `invalid` is for problems mod_jk tolerates (it falls back to a
 * default): an error normally, a warning in lenient mode. `error` is for problems mod_jk also
 * refuses, so they stay errors in lenient mode. Identical issues (e.g. from a member shared by
 * two balancers) are reported once.
 */
export class Issues {
  private readonly list: ConfigIssue[] = [];
  private readonly seen = new Set<string>();

  constructor(readonly lenient: boolean) {}

  error(at: SourceRef, directive: string, message: string): void {
    this.add({ file: at.file, line: at.line, directive, message, severity: 'error' });
  }

  warn(at: SourceRef, directive: string, message: string): void {
    this.add({ file: at.file, line: at.line, directive, message, severity: 'warning' });
  }

  /** A value mod_jk would silently replace: error, or in lenient mode a warning naming the fallback. */
  invalid(at: SourceRef, directive: string, message: string, fallback: string): void {
    if (this.lenient) this.warn(at, directive, `${message}; ${fallback}`);
    else this.error(at, directive, message);
  }

  /** In file and line order (the order they were found in follows worker creation). */
  get all(): readonly ConfigIssue[] {
    return [...this.list].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  }

  get hasErrors(): boolean {
    return this.list.some((i) => i.severity === 'error');
  }

  private add(issue: ConfigIssue): void {
    const key = `${issue.severity}\u0000${formatIssue(issue)}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(issue);
  }
}
