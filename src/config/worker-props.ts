/**
 * Typed, reporting access to one worker's directives: `worker.<name>.<directive>`.
 * Bad values are reported (error, or warning in lenient mode) and replaced by the default, as
 * mod_jk does; the report names the line that set the value (a template's line when inherited).
 */
import { repeatModeOf } from './directives.js';
import type { Issues } from './issues.js';
import type { SourceRef } from './model.js';
import type { PropEntry, PropertyStore } from './properties.js';
import { parseBool, parseFirstChar, parseIntLikeModJk, parseIntStrict, splitList, type FirstCharEnum } from './values.js';

/** Strings mod_jk keeps in fixed 64-byte shared-memory slots (docs/directives.md#validation-and-bad-values). */
export const MAX_NAME_BYTES = 63;

export interface IntRule {
  /** Below this: clamp to it with a warning (mod_jk clamps silently). */
  readonly clampMin?: number;
  /** Below this: invalid value (e.g. a negative timeout). */
  readonly min?: number;
  /** Above this: invalid value. */
  readonly max?: number;
}

export interface ListItem {
  readonly item: string;
  readonly ref: SourceRef;
}

export class WorkerProps {
  private readonly prefix: string;

  /** `name` '' reads the global keys (`worker.maintain`). */
  constructor(
    private readonly store: PropertyStore,
    readonly name: string,
    private readonly issues: Issues,
  ) {
    this.prefix = name === '' ? 'worker.' : `worker.${name}.`;
  }

  key(directive: string): string {
    return this.prefix + directive;
  }

  /** True when any `worker.<name>.*` property exists (own or inherited). */
  get defined(): boolean {
    return this.store.keysWithPrefix(this.prefix).length > 0;
  }

  /** The worker's own directive names (keys with a dotted remainder are left out). */
  directives(): string[] {
    return this.store
      .keysWithPrefix(this.prefix)
      .map((k) => k.slice(this.prefix.length))
      .filter((d) => !d.includes('.'));
  }

  /** Where the worker is defined: its own `type` line, else its first own property, else `fallback`. */
  sourceRef(fallback: SourceRef): SourceRef {
    const type = this.entry('type');
    if (type && type.inheritedFrom === undefined) return type.ref;
    for (const k of this.store.keysWithPrefix(this.prefix)) {
      const e = this.store.get(k)!;
      if (e.inheritedFrom === undefined) return e.ref;
    }
    return fallback;
  }

  entry(directive: string): PropEntry | undefined {
    return this.store.get(this.key(directive));
  }

  has(directive: string): boolean {
    return this.store.has(this.key(directive));
  }

  /** Where to point an issue about this directive: the entry's line and its own key. */
  where(entry: PropEntry): { ref: SourceRef; directive: string } {
    return { ref: entry.ref, directive: entry.inheritedFrom ?? entry.key };
  }

  invalid(entry: PropEntry, message: string, fallback: string): void {
    const w = this.where(entry);
    this.issues.invalid(w.ref, w.directive, message, fallback);
  }

  error(entry: PropEntry, message: string): void {
    const w = this.where(entry);
    this.issues.error(w.ref, w.directive, message);
  }

  warn(entry: PropEntry, message: string): void {
    const w = this.where(entry);
    this.issues.warn(w.ref, w.directive, message);
  }

  /** A string value; values longer than 63 bytes are refused when `shm` (mod_jk cannot store them). */
  string(directive: string, def: string, shm = false): string {
    const e = this.entry(directive);
    if (!e) return def;
    if (shm && Buffer.byteLength(e.value) > MAX_NAME_BYTES) {
      this.error(e, `value longer than ${MAX_NAME_BYTES} bytes`);
    }
    return e.value;
  }

  int(directive: string, def: number, rule: IntRule = {}): number {
    const e = this.entry(directive);
    if (!e) return def;
    // For '*'-joined repeats mod_jk's number parse stops at the '*': the first line decides.
    const raw = repeatModeOf(e.key) === 'join' ? e.segments[0].value : e.value;
    let n = parseIntStrict(raw);
    if (n === null) {
      const loose = parseIntLikeModJk(raw);
      const fallback = loose === null ? `using the default ${def}` : `using ${loose} as mod_jk does`;
      this.invalid(e, `'${raw}' is not an integer`, fallback);
      if (loose === null) return def;
      n = loose;
    }
    if (rule.min !== undefined && n < rule.min) {
      this.invalid(e, `${n} is below the minimum ${rule.min}`, `using the default ${def}`);
      return def;
    }
    if (rule.max !== undefined && n > rule.max) {
      this.invalid(e, `${n} is above the maximum ${rule.max}`, `using the default ${def}`);
      return def;
    }
    if (rule.clampMin !== undefined && n < rule.clampMin) {
      this.warn(e, `${n} is below ${rule.clampMin}; using ${rule.clampMin} as mod_jk does`);
      return rule.clampMin;
    }
    return n;
  }

  /** Raw boolean reading: null when absent. */
  boolOrNull(directive: string, def: boolean): boolean | null {
    const e = this.entry(directive);
    if (!e) return null;
    const b = parseBool(e.value);
    if (b === null) {
      this.invalid(e, `'${e.value}' is not a boolean (true/false, yes/no, on/off, 1/0)`, `using the default ${def}`);
      return def;
    }
    return b;
  }

  bool(directive: string, def: boolean): boolean {
    return this.boolOrNull(directive, def) ?? def;
  }

  firstChar<T extends string>(directive: string, e: FirstCharEnum<T>, def: T, what: string): T {
    const entry = this.entry(directive);
    if (!entry) return def;
    const r = parseFirstChar(entry.value, e);
    if (r.value === null) {
      this.invalid(entry, `unknown ${what} '${entry.value}' (expected ${e.words.join(', ')})`, `using ${def} as mod_jk does`);
      return def;
    }
    if (!r.canonical) this.warn(entry, `'${entry.value}' read as ${r.value} (only the first character counts)`);
    return r.value;
  }

  /** A list directive, each item with the line it came from. */
  list(directive: string): ListItem[] {
    const e = this.entry(directive);
    if (!e) return [];
    // A '*'-joined repeated list (balanced_workers) is read as one string, as mod_jk does.
    if (repeatModeOf(e.key) === 'join') return splitList(e.value).map((item) => ({ item, ref: e.ref }));
    const out: ListItem[] = [];
    for (const seg of e.segments) for (const item of splitList(seg.value)) out.push({ item, ref: seg.ref });
    return out;
  }
}
