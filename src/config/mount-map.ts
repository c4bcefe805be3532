/**
 * The URI → worker matcher (docs/uri-mapping.md#precedence). Rules are sorted once by slash count, then pattern
 * length (both descending), then source; the first matching enabled, non-exclusion rule wins,
 * unless an enabled exclusion for the same worker (or '*') also matches — then nothing matches
 * (no fallback to the next rule).
 *
 * Fast path: exact rules sit in a Map; only wildcard rules that rank above the exact hit are
 * tried, each compiled once to an anchored RegExp behind a literal-prefix test.
 */
import type { MountMap, MountRule, MountSource } from './model.js';

const SOURCE_RANK: Readonly<Record<MountSource, number>> = { uriworkermap: 0, JkMount: 1, 'worker definition': 2 };

function slashes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 47) n++;
  return n;
}

/**
 * The order of docs/uri-mapping.md#precedence; Array.prototype.sort is stable, so equal rules keep
 * their input (file) order.
 */
export function compareRules(a: MountRule, b: MountRule): number {
  return (
    slashes(b.pattern) - slashes(a.pattern) ||
    b.pattern.length - a.pattern.length ||
    SOURCE_RANK[a.source] - SOURCE_RANK[b.source]
  );
}

interface Matcher {
  readonly rule: MountRule;
  /** Position in the sorted list (lower = higher priority). */
  readonly rank: number;
  matches(path: string): boolean;
}

function compile(rule: MountRule, rank: number): Matcher {
  const p = rule.pattern;
  if (!rule.wildchar) return { rule, rank, matches: (path) => path === p };
  const firstWild = p.search(/[*?]/);
  const prefix = p.slice(0, firstWild);
  const source = p
    .split('')
    .map((c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  const re = new RegExp(`^${source}$`);
  return { rule, rank, matches: (path) => path.startsWith(prefix) && re.test(path) };
}

class SortedMountMap implements MountMap {
  readonly rules: readonly MountRule[];
  /** Best enabled non-exclusion exact rule per pattern. */
  private readonly exact = new Map<string, Matcher>();
  private readonly wild: Matcher[] = [];
  private readonly exclusions: Matcher[] = [];

  constructor(rules: readonly MountRule[]) {
    this.rules = Object.freeze([...rules].sort(compareRules));
    this.rules.forEach((rule, rank) => {
      if (rule.disabled) return; // inert, kept only for display (docs/uri-mapping.md#disabled-rules)
      const m = compile(rule, rank);
      if (rule.exclusion) this.exclusions.push(m);
      else if (rule.wildchar) this.wild.push(m);
      else if (!this.exact.has(rule.pattern)) this.exact.set(rule.pattern, m);
    });
  }

  match(path: string): MountRule | null {
    const exact = this.exact.get(path);
    const limit = exact ? exact.rank : Infinity;
    let best: MountRule | null = exact ? exact.rule : null;
    for (const w of this.wild) {
      if (w.rank >= limit) break;
      if (w.matches(path)) {
        best = w.rule;
        break;
      }
    }
    if (!best) return null;
    for (const x of this.exclusions) {
      if ((x.rule.worker === best.worker || x.rule.worker === '*') && x.matches(path)) return null;
    }
    return best;
  }
}

/** Builds the matcher over rules from any sources (they are sorted here). */
export function createMountMap(rules: readonly MountRule[]): MountMap {
  return new SortedMountMap(rules);
}
