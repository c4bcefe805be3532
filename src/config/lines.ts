/**
 * The line format shared by workers.properties and uriworkermap.properties
 * (docs/directives.md#lines-and-comments, #substitution).
 * The `ini` package cannot be used here: it loses line numbers, treats ';' as a comment start,
 * understands [sections] and quotes, none of which mod_jk does.
 */

export interface RawLine {
  readonly key: string;
  readonly value: string;
  /** 1-based line number. */
  readonly line: number;
}

/**
 * Splits a properties text into key/value lines the way mod_jk reads it: the first '#' ends
 * the line, both sides of the first '=' are trimmed, and lines without '=' or with an empty
 * key or value are dropped silently (so no property can be set to '').
 */
export function readPropertyLines(text: string): RawLine[] {
  const out: RawLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let s = lines[i];
    const hash = s.indexOf('#');
    if (hash >= 0) s = s.slice(0, hash);
    const eq = s.indexOf('=');
    if (eq < 0) continue;
    const key = s.slice(0, eq).trim();
    const value = s.slice(eq + 1).trim();
    if (key === '' || value === '') continue;
    out.push({ key, value, line: i + 1 });
  }
  return out;
}

/**
 * `$(NAME)` substitution in a value (docs/directives.md#substitution): NAME is looked up with
 * `lookup` (earlier properties, then the environment); unresolved references stay verbatim. Not
 * recursive: scanning resumes after the inserted text.
 */
export function substitute(value: string, lookup: (name: string) => string | undefined): string {
  let start = value.indexOf('$(');
  if (start < 0) return value;
  let out = '';
  let pos = 0;
  while (start >= 0) {
    const end = value.indexOf(')', start + 2);
    if (end < 0) break;
    const replacement = lookup(value.slice(start + 2, end));
    out += value.slice(pos, start) + (replacement ?? value.slice(start, end + 1));
    pos = end + 1;
    start = value.indexOf('$(', pos);
  }
  return out + value.slice(pos);
}
