/**
 * The data path's "client went away" signal: what an AbortSignal offers the transports
 * (ClientSignal), without the EventTarget, the AbortController and the DOMException that every
 * request paid for when it was an AbortController.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ClientSignal } from './transport.js';

/**
 * Aborts when the client goes away before its reply was finished. The response's 'close' says so
 * for the reply being written (Node relays the connection's 'close' to the response that holds
 * it); a pipelined reply still queued behind another holds no connection yet and hears nothing
 * from its response, so only then is the connection's 'close' watched too, until dispose().
 */
export class ClientGoneSignal implements ClientSignal {
  aborted = false;
  private listeners: (() => void)[] | null = null;
  private readonly onGone: () => void;
  /** The connection watched for a queued reply; null when the response already holds it. */
  private readonly socket: Socket | null;

  constructor(res: ServerResponse, socket: Socket) {
    this.onGone = () => {
      if (!res.writableFinished) this.abort();
    };
    res.on('close', this.onGone);
    this.socket = res.socket === null ? socket : null;
    this.socket?.on('close', this.onGone);
  }

  /** The request is over: stop watching its connection (the next request on it has its own signal). */
  dispose(): void {
    this.socket?.off('close', this.onGone);
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const l = this.listeners;
    if (l === null) return;
    const i = l.indexOf(listener);
    if (i >= 0) l.splice(i, 1);
  }

  /** Once: every listener runs once, in the order added. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const l = this.listeners;
    this.listeners = null;
    if (l !== null) for (const fn of l) fn();
  }
}
