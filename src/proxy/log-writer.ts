/**
 * The log's way to stdout: lines are collected and written in batches of up to BATCH_BYTES, one
 * write at a time, off the event loop (fs.write). pino's own destination appends each line to one
 * growing string and measures it again on every line, which made logging a request cost several
 * µs; here a line costs an array push.
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
  private lines: string[] = [];
  private pending = 0;
  private inFlight: Buffer | null = null;
  private waiters: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly fd: number) {
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
    process.once('exit', () => this.flushSync());
  }

  /** pino's destination interface: one serialised line (with its newline). */
  write(line: string): boolean {
    this.lines.push(line);
    this.pending += line.length;
    if (this.pending >= BATCH_BYTES && this.inFlight === null) this.next();
    return true;
  }

  /** Write everything logged so far; `done` once it has reached the file descriptor. */
  flush(done?: () => void): void {
    if (done) {
      if (this.inFlight === null && this.lines.length === 0) done();
      else this.waiters.push(done);
    }
    if (this.inFlight === null) this.next();
  }

  private next(): void {
    if (this.lines.length === 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const fn of w) fn();
      return;
    }
    this.send(Buffer.from(this.lines.join('')));
    this.lines = [];
    this.pending = 0;
  }

  private send(buf: Buffer): void {
    this.inFlight = buf;
    write(this.fd, buf, 0, buf.length, null, (err, n) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          setTimeout(() => this.send(buf), RETRY_MS).unref();
          return;
        }
        // stdout is gone (closed pipe): nothing more can be logged; drop what was queued.
        this.inFlight = null;
        this.lines = [];
        this.pending = 0;
        this.next();
        return;
      }
      if (n < buf.length) {
        this.send(buf.subarray(n));
        return;
      }
      this.inFlight = null;
      if (this.pending >= BATCH_BYTES || this.waiters.length > 0) this.next();
    });
  }

  /** Last resort at exit: what is queued goes out now (a batch already in flight is the kernel's). */
  private flushSync(): void {
    clearInterval(this.timer);
    if (this.lines.length === 0) return;
    const buf = Buffer.from(this.lines.join(''));
    this.lines = [];
    try {
      for (let off = 0; off < buf.length; ) off += writeSync(this.fd, buf, off);
    } catch {
      // Nowhere left to write to.
    }
  }
}
