/**
 * One address the balancer serves on, whatever Node server serves it (plain HTTP, TLS, HTTP/2 with
 * HTTP/1.1, the HTTPS redirect), with what a graceful stop and a certificate reload need of it.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { TlsMaterial } from './tls-context.js';

/** `--listen` / `--listen-tls`: where, and whether TLS. */
export interface ListenAddress {
  readonly host: string;
  /** 0 lets the OS choose. */
  readonly port: number;
  readonly tls: boolean;
}

export interface Listener {
  readonly address: ListenAddress;
  readonly server: net.Server;
  /** Close connections (and HTTP/2 sessions) with no request in flight; the others as they finish. */
  closeIdle(): void;
  /** Close every connection now (the shutdown timeout passed). */
  closeAll(): void;
  /** TLS listeners: serve new connections with this certificate and key; open ones keep theirs. */
  useTlsMaterial?(material: TlsMaterial): void;
}

/** A listener on one of Node's HTTP/1.1 servers (http or https): they track their connections. */
export function http1Listener(address: ListenAddress, server: http.Server): Listener {
  return {
    address,
    server,
    closeIdle: () => server.closeIdleConnections(),
    closeAll: () => server.closeAllConnections(),
  };
}
