/**
 * The batched log writer (src/proxy/log-writer.ts) encodes each line straight into a batch buffer:
 * every line must reach the file, whole, once and in order — across batch boundaries, with
 * multi-byte characters, and for a line larger than a batch.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchedLogWriter } from '../../src/proxy/log-writer.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempFd(): { fd: number; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'jkb-logw-'));
  dirs.push(dir);
  const path = join(dir, 'log');
  return { fd: openSync(path, 'a'), path };
}

describe('BatchedLogWriter', () => {
  it('writes every line once, in order, across many batches, multi-byte characters and an oversized line included', async () => {
    const { fd, path } = tempFd();
    const w = new BatchedLogWriter(fd);
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      // ASCII, Latin-1, a BMP character and an astral one (a surrogate pair): 1 to 4 bytes each.
      const line = `{"n":${i},"path":"/caf\u00e9/\u6f22/${'\u{1F600}'.repeat(i % 7)}${'x'.repeat(i % 300)}"}\n`;
      lines.push(line);
      w.write(line);
      if (i === 1500) {
        const big = `{"big":"${'\u00e9'.repeat(40_000)}"}\n`;
        lines.push(big);
        w.write(big);
      }
    }
    await new Promise<void>((resolve) => w.flush(resolve));
    closeSync(fd);
    const written = readFileSync(path, 'utf8');
    expect(Buffer.byteLength(written)).toBeGreaterThan(3 * 64 * 1024);
    expect(written).toBe(lines.join(''));
  });

  it('flush() answers at once when nothing is waiting, and after the write when something is', async () => {
    const { fd, path } = tempFd();
    const w = new BatchedLogWriter(fd);
    let called = false;
    w.flush(() => (called = true));
    expect(called).toBe(true);
    w.write('one\n');
    await new Promise<void>((resolve) => w.flush(resolve));
    expect(readFileSync(path, 'utf8')).toBe('one\n');
    closeSync(fd);
  });
});
