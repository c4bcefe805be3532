/**
 * Status-worker users for HTTP Basic authentication (`--credentials <file>`).
 * File format: one `user:hash` per line; blank lines and lines starting with '#' are ignored;
 * hash = `scrypt$<N>$<saltBase64>$<keyBase64>` as made by hashPassword (node:crypto scrypt, r=8, p=1).
 * Passwords are never logged or kept; only hashes are held in memory.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

const DEFAULT_N = 16384;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Largest cost factor accepted from a file (bounds the memory and time one login can take). */
const MAX_N = 1 << 20;

interface ParsedHash {
  readonly n: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

export interface Credentials {
  /** User names in the file, in file order. */
  readonly users: readonly string[];
  /** Constant-time check of a password; unknown users cost the same as known ones. */
  verify(user: string, password: string): Promise<boolean>;
}

function scryptAsync(password: string, salt: Buffer, n: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem must cover 128 * N * r bytes plus slack, or large N values are refused.
    scrypt(password, salt, keylen, { N: n, r: R, p: P, maxmem: 256 * n * R }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string, n: number = DEFAULT_N): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt, n, KEY_BYTES);
  return `scrypt$${n}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function parseHash(text: string): ParsedHash | null {
  const parts = text.split('$');
  if (parts.length !== 4 || parts[0] !== 'scrypt') return null;
  const n = Number(parts[1]);
  if (!Number.isInteger(n) || n < 2 || n > MAX_N || (n & (n - 1)) !== 0) return null;
  if (!BASE64.test(parts[2]) || !BASE64.test(parts[3])) return null;
  const salt = Buffer.from(parts[2], 'base64');
  const key = Buffer.from(parts[3], 'base64');
  if (salt.length < 8 || key.length < 16 || key.length > 64) return null;
  return { n, salt, key };
}

/** Parse credentials text; `source` names the file in error messages. Throws on any bad line. */
export function parseCredentials(text: string, source: string): Credentials {
  const table = new Map<string, ParsedHash>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = colon > 0 ? line.slice(0, colon) : '';
    const hash = parseHash(line.slice(colon + 1));
    if (!user || /\s/.test(user) || !hash) {
      throw new Error(`${source}:${i + 1}: expected 'user:scrypt$N$salt$key' (make hashes with 'jkbalancer hash-password')`);
    }
    if (table.has(user)) throw new Error(`${source}:${i + 1}: user '${user}' defined twice`);
    table.set(user, hash);
  });
  // Verifying an unknown user against this keeps the time of a failed login independent of the name.
  const dummy: ParsedHash = { n: DEFAULT_N, salt: randomBytes(SALT_BYTES), key: randomBytes(KEY_BYTES) };
  return {
    users: [...table.keys()],
    async verify(user, password) {
      const known = table.get(user);
      const h = known ?? dummy;
      const key = await scryptAsync(password, h.salt, h.n, h.key.length);
      return timingSafeEqual(key, h.key) && known !== undefined;
    },
  };
}

export function loadCredentials(path: string): Credentials {
  return parseCredentials(readFileSync(path, 'utf8'), path);
}
