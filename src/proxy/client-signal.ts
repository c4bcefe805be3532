/**
 * The data path's "client went away" signal: what an AbortSignal offers the transports
 * (ClientSignal), without the EventTarget, the AbortController and the DOMException that every
 * request paid for when it was an AbortController.
 */
import type { ServerResponse } from 'node:http';
import type { ClientSignal } from './transport.js';

/** Aborts when `res` closes before its reply was finished (the client went away). */
export class ClientGoneSignal implements ClientSignal {
  aborted = false;
  private listeners: (() => void)[] | null = null;

  constructor(res: ServerResponse) {
    res.on('close', () => {
      if (!res.writableFinished) this.abort();
    });
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
