/**
 * The transport interface: one implementation per member type (http, ajp13).
 * The data path (src/proxy) runs the lb retry loop and calls `forward` once per member attempt;
 * a transport only moves one request to one backend and reports how it went.
 */
import type { Readable } from 'node:stream';
import type { MemberConfig } from '../config/model.js';
import type { OutcomeKind } from '../routing/types.js';

/**
 * "The client went away", as transports need it. AbortSignal has this shape; the data path passes
 * a cheaper ClientGoneSignal (client-signal.ts): an AbortController per request was a measurable
 * share of the proxy's CPU.
 */
export interface ClientSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Why an attempt failed: the routing core's OutcomeKind (fail_status is the data path's own verdict). */
export type TransportErrorKind = Exclude<OutcomeKind, 'success' | 'fail_status'>;

export class TransportError extends Error {
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    /** True when no byte of this request reached the backend (safe to retry anywhere). */
    readonly nothingSent = false,
    /** For client_error: the status the client gets (400 when 0). */
    readonly clientStatus = 0,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

/** errno codes meaning this process ran out of something: our fault, never the member's. */
const LOCAL_RESOURCE_CODES = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

export function isLocalResourceError(code: string | undefined): boolean {
  return code !== undefined && LOCAL_RESOURCE_CODES.has(code);
}

/** The client request body; replayable while it fits in the replay buffer. */
export interface RequestBody {
  /** Content-Length of the client request, or -1 when chunked / unknown; 0 for no body. */
  readonly length: number;
  /**
   * A fresh stream of the whole body for this attempt, or null when the body can no longer be
   * replayed (bytes beyond the replay buffer were already consumed by an earlier attempt).
   */
  open(): Readable | null;
  /** Bytes handed to transports so far in the current attempt. */
  readonly bytesRead: number;
}

/**
 * What the listener knows of the client's TLS connection, for members that want it (mod_jk's SSL
 * facts: AJP attributes for ajp13 members, X-SSL-* headers for http members; docs/ajp13.md#ssl-facts).
 * Read once per connection (tls-facts.ts); a field is absent when TLS did not give it.
 */
export interface TlsFacts {
  /** The client certificate as PEM, when the client presented one. */
  readonly cert?: string;
  /** OpenSSL's name of the cipher suite (mod_ssl's SSL_CIPHER), e.g. 'TLS_AES_256_GCM_SHA384'. */
  readonly cipher?: string;
  /** The TLS session id, upper-case hex (mod_ssl's SSL_SESSION_ID). */
  readonly sessionId?: string;
  /** Bits of the symmetric cipher's key (mod_ssl's SSL_CIPHER_USEKEYSIZE). */
  readonly keySize?: number;
  /** e.g. 'TLSv1.3' (mod_ssl's SSL_PROTOCOL). */
  readonly protocol?: string;
}

/** One request as it goes to a member. */
export interface ForwardRequest {
  readonly method: string;
  /** Path and query exactly as the client sent them (path parameters included). */
  readonly url: string;
  readonly httpVersion: string;
  /** Client headers as a flat [name, value, name, value…] list, hop-by-hop headers already removed. */
  readonly headers: readonly string[];
  /**
   * Every name in `headers` is a token and no value holds a control character: they came through
   * Node's HTTP/1.1 parser, which refuses anything else. HTTP/2 requests come through nghttp2,
   * whose rules are not llhttp's: their headers are checked before they are written.
   */
  readonly headersChecked: boolean;
  readonly body: RequestBody;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Host the client asked for (Host header without port) and the listener's port. */
  readonly serverName: string;
  readonly serverPort: number;
  readonly secure: boolean;
  /** The client's TLS facts; null on plain HTTP. */
  readonly tls: TlsFacts | null;
  /** JK_LB_ACTIVATION of the chosen member: 'ACT' | 'DIS'. */
  readonly activation: string;
  /** Route forwarded to the backend ('' if none). */
  readonly route: string;
  /** ms; 0 = none. Already includes a mount's reply_timeout override. */
  readonly replyTimeoutMs: number;
  /** Aborted when the client goes away; the transport must stop and release its connection. */
  readonly signal: ClientSignal;
}

/** Where a reply body goes: the data path's relay to the client. */
export interface ReplySink {
  /** A body chunk; false = stop until ReplyStream.resume(). */
  data(chunk: Buffer): boolean;
  end(): void;
  /** The reply broke off (TransportError of kind read / reply_timeout / protocol / client_error). */
  error(err: TransportError): void;
}

/**
 * A reply body pushed straight from the transport into a sink: no Readable in between (a stream per
 * request, its events and buffering were another measurable share of the per-request CPU).
 */
export interface ReplyStream {
  /** Start delivering to `sink` (once); chunks that arrived before are delivered first. */
  start(sink: ReplySink): void;
  /** The sink can take more after data() returned false. */
  resume(): void;
  /** Not wanted: stop, and never leave a half-read connection pooled. No sink call follows. */
  discard(): void;
}

/** A backend reply whose head has arrived; the body streams. */
export interface BackendResponse {
  readonly status: number;
  readonly statusMessage: string;
  /** Flat [name, value, …] list as the backend sent them (hop-by-hop not yet removed). */
  readonly headers: readonly string[];
  /** The body (see ReplyStream). */
  readonly body: ReplyStream;
  /** Bytes received from the backend so far (framing included where the protocol has it). */
  readonly bytesReceived: () => number;
  /** Bytes sent to the backend for this request so far. */
  readonly bytesSent: () => number;
}

/**
 * What a transport is built from: a member's configuration with its live settings
 * (MemberRuntime.transportConfig) and the member's transport generation they belong to. A transport
 * built from the loaded configuration alone has no generation.
 */
export type TransportConfig = MemberConfig & { readonly generation?: number };

export interface Transport {
  /** The configuration it was built from, as given to the factory. */
  readonly member: TransportConfig;
  /**
   * Send one request. Resolves when the reply head arrives; rejects with TransportError when the
   * attempt fails before that. A failure on a reused pooled connection before anything of the
   * request reached the backend is retried on a fresh connection inside the transport and is not
   * reported.
   */
  forward(req: ForwardRequest): Promise<BackendResponse>;
  /** Connections currently open / in use, for the status worker (connected, busy). */
  readonly connected: number;
  /** Periodic housekeeping at maintenance (idle timeout, interval probes). */
  maintain(nowMs: number): void;
  /** Close every connection. */
  close(): Promise<void>;
  /**
   * Another transport with newer settings replaces this one: keep no connection idle, let the
   * requests in flight finish on theirs and close those afterwards. A transport without it is
   * retired with close(), which must then behave so (the http transport's does).
   */
  retire?(): void;
}

export type TransportFactory = (member: TransportConfig) => Transport;
