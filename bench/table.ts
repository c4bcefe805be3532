/** Plain-text tables for the terminal (and for pasting into README as they are). */
/** The first `names` columns are names (left-aligned); the rest are figures (right-aligned). */
export function printTable(header: string[], lines: string[][], names = 1): void {
  const all = [header, ...lines];
  const widths = header.map((_, c) => Math.max(...all.map((l) => l[c].length)));
  const fmt = (l: string[]) => l.map((cell, c) => (c < names ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}
