/**
 * Every reply the balancer writes itself — not a member's — in one table, each with a stable code
 * that scripts and logs can rely on (sent as `X-JK-Error`), the status, and the text the client
 * reads. Texts say what happened in general terms: which members were tried and why is in the
 * request log only. The status worker's own results (mod_jk's formats) are not here.
 */
import type { ServerResponse } from 'node:http';

export const OWN_REPLIES = {
  /** The request head or target cannot be forwarded (detail says which part). */
  JKB_BAD_REQUEST: { status: 400, text: 'the request could not be forwarded' },
  JKB_HEAD_TIMEOUT: { status: 408, text: 'the request head did not arrive in time' },
  JKB_BODY_TIMEOUT: { status: 408, text: 'the request body stopped arriving' },
  JKB_HEAD_TOO_LARGE: { status: 431, text: 'the request head is too large' },
  JKB_TOO_LARGE: { status: 413, text: 'the request is too large' },
  JKB_NOT_MOUNTED: { status: 404, text: 'no worker is mounted for this path' },
  JKB_NOT_FOUND: { status: 404, text: 'nothing is served here' },
  JKB_METHOD_NOT_ALLOWED: { status: 405, text: 'this resource is read with GET' },
  JKB_NO_MEMBER: { status: 503, text: 'no application server could serve the request' },
  JKB_MEMBER_FAILED: { status: 502, text: 'the application server failed to answer' },
  JKB_MEMBER_TIMEOUT: { status: 504, text: 'the application did not answer in time' },
  /** use_server_errors: the member's error reply is replaced by ours (its status is kept). */
  JKB_APP_ERROR: { status: 500, text: 'the application reported an error' },
  JKB_INTERNAL: { status: 500, text: 'internal balancer error' },
  /** --redirect-https: a plain HTTP request sent to the TLS listener (308 keeps a non-GET method and body). */
  JKB_HTTPS_REDIRECT: { status: 301, text: 'this site is served over HTTPS' },
} as const satisfies Record<string, { status: number; text: string }>;

export type OwnReplyCode = keyof typeof OWN_REPLIES;

const REASONS: Record<number, string> = {
  301: 'Moved Permanently',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The code for the status the routing core gave a request no member answered. */
export function codeForStatus(status: number): OwnReplyCode {
  switch (status) {
    case 400:
      return 'JKB_BAD_REQUEST';
    case 408:
      return 'JKB_BODY_TIMEOUT';
    case 413:
      return 'JKB_TOO_LARGE';
    case 502:
      return 'JKB_MEMBER_FAILED';
    case 504:
      return 'JKB_MEMBER_TIMEOUT';
    default:
      return 'JKB_NO_MEMBER';
  }
}

function bodyOf(status: number, code: OwnReplyCode, detail: string | undefined): string {
  return `${status} ${REASONS[status] ?? 'Error'}: ${detail ?? OWN_REPLIES[code].text}\n`;
}

/**
 * Answer `res` ourselves (unless a reply already started). `detail` replaces the table's text with
 * a fixed, more precise one (never anything the client sent). A request whose body was not read to
 * the end closes the connection: what is left of the body cannot be told apart from the next request.
 */
export function sendOwnReply(res: ServerResponse, code: OwnReplyCode, opts: { status?: number; detail?: string; headers?: Record<string, string> } = {}): void {
  if (res.headersSent || res.destroyed) return;
  const status = opts.status ?? OWN_REPLIES[code].status;
  const body = bodyOf(status, code, opts.detail);
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-jk-error': code,
    ...opts.headers,
  };
  // HTTP/2 has no Connection header (Node drops it with a warning): a stream ends alone.
  if (!res.req.complete && res.req.httpVersionMajor < 2) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** The same reply as raw bytes, for a socket no ServerResponse exists for (parser errors, upgrades); the connection closes. */
export function rawOwnReply(code: OwnReplyCode, status: number = OWN_REPLIES[code].status): string {
  const body = bodyOf(status, code, undefined);
  return (
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Cache-Control: no-store\r\nX-JK-Error: ${code}\r\nConnection: close\r\n\r\n${body}`
  );
}
