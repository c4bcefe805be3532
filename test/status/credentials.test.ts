/** Credentials file: hash format, verification, refusal of malformed files. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashPassword, loadCredentials, parseCredentials } from '../../src/status/credentials.js';

describe('credentials', () => {
  it('hashes with scrypt in the documented format and verifies', async () => {
    const hash = await hashPassword('pässword');
    expect(hash).toMatch(/^scrypt\$16384\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(await hashPassword('pässword')).not.toBe(hash); // salted
    const dir = mkdtempSync(join(tmpdir(), 'jkstatus-cred-'));
    try {
      const file = join(dir, 'users');
      writeFileSync(file, `# comment\n\nops:${hash}\n`);
      const c = loadCredentials(file);
      expect(c.users).toEqual(['ops']);
      expect(await c.verify('ops', 'pässword')).toBe(true);
      expect(await c.verify('ops', 'password')).toBe(false);
      expect(await c.verify('nobody', 'pässword')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses malformed lines with file and line number', async () => {
    const good = await hashPassword('x', 1024);
    expect(() => parseCredentials(`a:${good}\nb:plaintext\n`, 'creds')).toThrow(/^creds:2: expected 'user:scrypt\$N\$salt\$key'/);
    expect(() => parseCredentials(`a:${good}\na:${good}\n`, 'creds')).toThrow("creds:2: user 'a' defined twice");
    expect(() => parseCredentials('a:scrypt$1000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==\n', 'creds')).toThrow(/creds:1/);
    expect(() => parseCredentials(`:${good}\n`, 'creds')).toThrow(/creds:1/);
  });
});
