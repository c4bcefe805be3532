/**
 * uriworkermap.properties → MountMap (docs/uri-mapping.md), merged with the `worker.<name>.mount` patterns
 * of workers.properties (lowest priority, no `|` shortcut, no extensions).
 */
import { Issues } from './issues.js';
import type { ConfigIssue, MountMap, MountRule, MountSource, RuleExtensions, SourceRef, WorkersConfig } from './model.js';
import { createMountMap } from './mount-map.js';
import { readProperties } from './properties.js';
import { NO_EXTENSIONS, parseRuleExtensions, splitRuleValue } from './rule-extensions.js';
import { workerMountsOf, type ParseOptions } from './workers.js';

export interface ParsedMounts {
  /** Built even when there are errors (bad rules left out); only trustworthy without errors. */
  readonly mounts: MountMap;
  readonly issues: readonly ConfigIssue[];
}

interface PatternSpec {
  readonly pattern: string;
  readonly disabled: boolean;
  readonly exclusion: boolean;
}

/** Leading '-' (disabled) then '!' (exclusion), in that order only (docs/uri-mapping.md#patterns). */
function readPrefixes(spec: string): PatternSpec {
  let rest = spec;
  const disabled = rest.startsWith('-');
  if (disabled) rest = rest.slice(1);
  const exclusion = rest.startsWith('!');
  if (exclusion) rest = rest.slice(1);
  return { pattern: rest, disabled, exclusion };
}

function makeRule(p: PatternSpec, worker: string, source: MountSource, ext: RuleExtensions, ref: SourceRef): MountRule {
  return Object.freeze({
    pattern: p.pattern,
    worker,
    disabled: p.disabled,
    exclusion: p.exclusion,
    wildchar: /[*?]/.test(p.pattern),
    source,
    ext,
    source_ref: ref,
  });
}

const SLASH_HINT = "a pattern must start with '/' after the optional '-' and '!' (write '/*.jsp', not '*.jsp')";

/**
 * Reads uriworkermap.properties text (pass '' when there is no such file: the `mount` patterns of
 * `workers` still apply). Never throws; problems are in `issues`.
 */
export function parseMounts(text: string, file: string, workers: WorkersConfig, opts: ParseOptions = {}): ParsedMounts {
  const issues = new Issues(opts.lenient ?? false);
  const rules: MountRule[] = [];
  const store = readProperties(text, file, opts.env ?? process.env, 'last-wins', issues);

  for (const e of store.entries()) {
    const spec = readPrefixes(e.key);
    const bar = spec.pattern.indexOf('|');
    const head = bar >= 0 ? spec.pattern.slice(0, bar) : spec.pattern;
    if (!head.startsWith('/')) {
      issues.invalid(e.ref, e.key, SLASH_HINT, 'rule skipped as mod_jk does');
      continue;
    }
    const [worker, ...extTokens] = splitRuleValue(e.value);
    const target = workers.workers.get(worker ?? '');
    if (!target && !(spec.exclusion && worker === '*')) {
      issues.error(e.ref, e.key, `worker '${worker ?? ''}' is not in worker.list`);
      continue;
    }
    const ext = parseRuleExtensions(extTokens, target, {
      invalid: (message, fallback) => issues.invalid(e.ref, e.key, message, fallback),
      warn: (message) => issues.warn(e.ref, e.key, message),
    });
    // `X|Y` is shorthand for the two rules X and XY (first '|' only).
    const patterns = bar >= 0 ? [head, head + spec.pattern.slice(bar + 1)] : [spec.pattern];
    for (const pattern of patterns) rules.push(makeRule({ ...spec, pattern }, worker, 'uriworkermap', ext, e.ref));
  }

  for (const m of workerMountsOf(workers)) {
    const spec = readPrefixes(m.pattern);
    const directive = `worker.${m.worker}.mount`;
    if (!spec.pattern.startsWith('/')) {
      issues.invalid(m.ref, directive, `'${m.pattern}': ${SLASH_HINT}`, 'pattern skipped as mod_jk does');
      continue;
    }
    rules.push(makeRule(spec, m.worker, 'worker definition', NO_EXTENSIONS, m.ref));
  }

  return { mounts: createMountMap(rules), issues: issues.all };
}
