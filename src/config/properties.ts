/**
 * The property store: every key with its effective value and the lines that contributed to it,
 * filled the way mod_jk fills its map (docs/directives.md#substitution, #repeated-keys).
 */
import { joinSeparatorOf, repeatModeOf } from './directives.js';
import type { Issues } from './issues.js';
import { readPropertyLines, substitute } from './lines.js';
import type { SourceRef } from './model.js';

export interface PropSegment {
  readonly value: string;
  readonly ref: SourceRef;
}

export interface PropEntry {
  readonly key: string;
  /** Effective value (accumulated / joined as mod_jk does). */
  value: string;
  /** Each contributing line, in order. */
  readonly segments: PropSegment[];
  /** The line that decides the value: the last one, except for '*'-joined keys (the first). */
  ref: SourceRef;
  /** Set when the entry was copied by `reference`: the template's key. */
  readonly inheritedFrom?: string;
}

/**
 * 'duplicates': workers.properties (docs/directives.md#repeated-keys). 'last-wins':
 * uriworkermap.properties (docs/uri-mapping.md#file-format).
 */
export type RepeatPolicy = 'duplicates' | 'last-wins';

export class PropertyStore {
  private readonly map = new Map<string, PropEntry>();

  get(key: string): PropEntry | undefined {
    return this.map.get(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Entries in file order; entries created by `reference` follow the file's own. */
  entries(): IterableIterator<PropEntry> {
    return this.map.values();
  }

  keysWithPrefix(prefix: string): string[] {
    const keys: string[] = [];
    for (const k of this.map.keys()) if (k.startsWith(prefix)) keys.push(k);
    return keys;
  }

  put(key: string, value: string, ref: SourceRef, policy: RepeatPolicy, issues: Issues): void {
    const old = this.map.get(key);
    if (!old) {
      this.map.set(key, { key, value, segments: [{ value, ref }], ref });
      return;
    }
    const firstLine = old.segments[0].ref.line;
    old.segments.push({ value, ref });
    const mode = policy === 'last-wins' ? 'replace' : repeatModeOf(key);
    if (mode === 'replace') {
      issues.warn(ref, key, `repeated (also at line ${old.ref.line}); this later value wins`);
      old.value = value;
      old.ref = ref;
    } else if (mode === 'accumulate') {
      old.value = `${old.value},${value}`;
      old.ref = ref;
    } else {
      old.value = `${old.value}${joinSeparatorOf(key)}${value}`;
      issues.warn(
        ref,
        key,
        /\.(distance|maintain)$/.test(key)
          ? `repeated (first at line ${firstLine}); mod_jk joins the values with '*' and reads the number before it: the first value is used`
          : `repeated (first at line ${firstLine}); as in mod_jk the values are joined: '${old.value}'`,
      );
    }
  }

  /** Adds a key copied from a template by `reference` (never overwrites). */
  inherit(key: string, from: PropEntry): void {
    this.map.set(key, { key, value: from.value, segments: from.segments, ref: from.ref, inheritedFrom: from.key });
  }
}

/**
 * Reads a properties text into a store, substituting `$(NAME)` from earlier properties and then
 * `env`. `check(line, issues)` may veto a line (return false), e.g. an unknown directive.
 */
export function readProperties(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv,
  policy: RepeatPolicy,
  issues: Issues,
  check: (line: { key: string; value: string; ref: SourceRef }) => boolean = () => true,
): PropertyStore {
  const store = new PropertyStore();
  const lookup = (name: string): string | undefined => store.get(name)?.value ?? env[name];
  for (const raw of readPropertyLines(text)) {
    const ref = { file, line: raw.line };
    const value = substitute(raw.value, lookup);
    if (check({ key: raw.key, value, ref })) store.put(raw.key, value, ref, policy, issues);
  }
  return store;
}
