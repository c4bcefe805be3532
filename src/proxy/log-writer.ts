/**
 * The log's way to stdout: each line is encoded straight into the current batch buffer (one copy,
 * no array of strings to join and encode again), and full batches are written one at a time, off
 * the event loop (fs.write). pino's own destination appends each line to one growing string and
 * measures it again on every line, which made logging a request cost several µs.
 *
 * A batch goes out when it is full, every FLUSH_MS, on flush() (reload, stop) and, for whatever is
 * not yet in flight, synchronously when the process exits.
 */
import { write, writeSync } from 'node:fs';

const BATCH_BYTES = 64 * 1024;
const FLUSH_MS = 1000;
/** A non-blocking stdout (a pipe) may be full: try again shortly. */
const RETRY_MS = 10;

export class BatchedLogWriter {
  /** The batch being filled, and how much of it is. */
  private buf = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  /** Sealed batches, oldest first, waiting for the one in flight. */
  private queue: Buffer[] = [];
  private inFlight = false;
  private waiters: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly fd: number) {
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
    process.once('exit', () => this.flushSync());
  }

  /** pino's destination interface: one serialised line (with its newline). */
  write(line: string): boolean {
    // At most 3 bytes of UTF-8 per UTF-16 unit: check the room before encoding.
    if (this.used + line.length * 3 > BATCH_BYTES) {
      this.seal();
      const oversized = line.length * 3 > BATCH_BYTES;
      if (oversized) this.queue.push(Buffer.from(line));
      this.next();
      if (oversized) return true;
    }
    this.used += this.buf.write(line, this.used);
    return true;
  }

  /** Write everything logged so far; `done` once it has reached the file descriptor. */
  flush(done?: () => void): void {
    this.seal();
    if (done) {
      if (!this.inFlight && this.queue.length === 0) done();
      else this.waiters.push(done);
    }
    this.next();
  }

  /** The batch being filled joins the queue (if it holds anything). */
  private seal(): void {
    if (this.used === 0) return;
    this.queue.push(this.buf.subarray(0, this.used));
    this.buf = Buffer.allocUnsafe(BATCH_BYTES);
    this.used = 0;
  }

  private next(): void {
    if (this.inFlight) return;
    const batch = this.queue.shift();
    if (batch !== undefined) {
      this.send(batch);
      return;
    }
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  private send(buf: Buffer): void {
    this.inFlight = true;
    write(this.fd, buf, 0, buf.length, null, (err, n) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          setTimeout(() => this.send(buf), RETRY_MS).unref();
          return;
        }
        // stdout is gone (closed pipe): nothing more can be logged; drop what was queued.
        this.inFlight = false;
        this.queue = [];
        this.used = 0;
        this.next();
        return;
      }
      if (n < buf.length) {
        this.send(buf.subarray(n));
        return;
      }
      this.inFlight = false;
      this.next();
    });
  }

  /** Last resort at exit: what is queued goes out now (a batch already in flight is the kernel's). */
  private flushSync(): void {
    clearInterval(this.timer);
    this.seal();
    const batches = this.queue;
    this.queue = [];
    try {
      for (const buf of batches) for (let off = 0; off < buf.length; ) off += writeSync(this.fd, buf, off);
    } catch {
      // Nowhere left to write to.
    }
  }
}
