/** A small HTTP client for tests: real sockets, a cookie jar of one JSESSIONID, bounded in time. */
import { request as httpRequest } from 'node:http';
import { Agent, request } from 'undici';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export const testAgent = new Agent({ connections: 64, keepAliveTimeout: 10_000 });

export async function get(url: string, headers: Record<string, string> = {}, method = 'GET', body?: string | Buffer): Promise<Reply> {
  const r = await request(url, { method, headers, body, dispatcher: testAgent, headersTimeout: 20_000, bodyTimeout: 20_000 });
  const text = await r.body.text();
  return {
    status: r.statusCode,
    headers: r.headers,
    text,
    json<T>() {
      return JSON.parse(text) as T;
    },
  };
}

/** The JSESSIONID value a reply set, if any. */
export function sessionCookie(reply: Reply): string | null {
  const sc = reply.headers['set-cookie'];
  const all = Array.isArray(sc) ? sc : sc ? [sc] : [];
  for (const c of all) {
    const m = /^JSESSIONID=([^;]+)/.exec(c);
    if (m) return m[1];
  }
  return null;
}

export interface RawReply {
  status: number;
  headers: import('node:http').IncomingHttpHeaders;
  body: string;
}

/**
 * A GET through node:http: any raw path and any Host header (fetch and undici normalise or refuse
 * some). `headers` should carry the Host to send. Bounded to 10 s.
 */
export function rawGet(host: string, port: number, path: string, headers: Record<string, string>): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port, path, method: 'GET', agent: false, timeout: 10_000, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}
