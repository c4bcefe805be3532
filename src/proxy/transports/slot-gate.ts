/**
 * At most `size` requests at once on one member's HTTP pool; the rest wait for a slot for at most
 * connection_acquire_timeout, then the attempt is 'busy' and the lb moves on (as mod_jk does when
 * its connection pool is exhausted). Without it a member's requests would queue without bound, and a
 * handful of stalled uploads could hold a member's sticky users for as long as they like.
 */
import { TransportError, type ClientSignal } from '../transport.js';

interface Waiter {
  readonly grant: () => void;
}

export class SlotGate {
  private active = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    /** Slots; 0 = unlimited (no gate). */
    private readonly size: number,
    private readonly acquireTimeoutMs: number,
    private readonly memberName: string,
  ) {}

  /** Resolves when the caller holds a slot (release it exactly once); rejects 'busy' or 'client_error'. */
  acquire(signal: ClientSignal): Promise<void> | null {
    if (this.size === 0 || this.active < this.size) {
      this.active++;
      return null;
    }
    // connection_acquire_timeout=0: one look, no wait (mod_jk would never acquire at all).
    if (this.acquireTimeoutMs <= 0) return Promise.reject(this.busy());
    if (signal.aborted) return Promise.reject(clientGone());
    return new Promise<void>((resolve, reject) => {
      // Timed out or left: out of the queue, so no slot is ever handed to it.
      const giveUp = (err: TransportError): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(err);
      };
      const onAbort = (): void => giveUp(clientGone());
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const timer = setTimeout(() => giveUp(this.busy()), this.acquireTimeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** The slot passes straight to the first waiter, if any. */
  release(): void {
    if (this.size === 0) return;
    const w = this.waiters.shift();
    if (w !== undefined) w.grant();
    else this.active--;
  }

  private busy(): TransportError {
    return new TransportError('busy', `all ${this.size} connections to ${this.memberName} in use`, true);
  }
}

function clientGone(): TransportError {
  return new TransportError('client_error', 'client went away', true);
}
