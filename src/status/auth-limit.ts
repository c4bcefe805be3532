/**
 * Failed Basic-authentication attempts, counted per client address. Each check of a password
 * costs one scrypt (about 40 ms of a libuv pool thread, the pool that DNS lookups and file writes
 * also wait for), so unlimited guessing would be both a brute-force channel and a way to stall the
 * balancer. After MAX_FAILURES attempts from one address within WINDOW_MS, that address gets 429
 * until its window ends, without any scrypt; other addresses are not affected.
 *
 * An attempt is charged before its scrypt runs and refunded when it succeeds, so a burst of
 * parallel guesses is capped as well as a sequence. The table is bounded (MAX_ADDRESSES); when
 * full, the address whose window started first is forgotten — many addresses can then each still
 * try MAX_FAILURES times per window, which is the most a per-address limit can promise.
 */

/** A person mistyping a password does not get near 10 tries a minute; a guesser gets 10 a minute, 14,400 a day. */
export const MAX_FAILURES = 10;
/** Long enough to make guessing slow, short enough that a locked-out operator waits at most a minute. */
export const WINDOW_MS = 60_000;
/** About 150 bytes each: at most ~1.5 MB however many addresses try. */
export const MAX_ADDRESSES = 10_000;

interface Window {
  readonly start: number;
  failures: number;
}

export class AuthFailureLimit {
  /** Insertion order = order of window start (a new window re-inserts), so the first entry is the oldest. */
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxFailures = MAX_FAILURES,
    private readonly windowMs = WINDOW_MS,
    private readonly maxAddresses = MAX_ADDRESSES,
  ) {}

  /**
   * Charge one attempt to `address` and return 0, or, when the address has used up its attempts
   * in the current window, charge nothing and return the seconds until it may try again.
   */
  charge(address: string): number {
    const now = this.now();
    let w = this.windows.get(address);
    if (w && now - w.start >= this.windowMs) {
      this.windows.delete(address);
      w = undefined;
    }
    if (w && w.failures >= this.maxFailures) return Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000));
    if (!w) {
      if (this.windows.size >= this.maxAddresses) this.windows.delete(this.windows.keys().next().value as string);
      w = { start: now, failures: 0 };
      this.windows.set(address, w);
    }
    w.failures++;
    return 0;
  }

  /** The attempt charged to `address` succeeded: its count starts again. */
  succeeded(address: string): void {
    this.windows.delete(address);
  }
}
