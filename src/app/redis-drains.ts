/**
 * Drain progress across instances (--state-redis): every instance publishes, for each disabled
 * member, its drain sketch (DrainTracker: HyperLogLog registers per window bucket and the last
 * sticky request) under its own field of `jkbalancer:{lb}:drain:<member>`, and merges the other
 * instances' sketches into its own tracker. HLL sketches merge by register-wise maximum, so the
 * union is the same whoever merges what in which order: every instance's drain progress — and the
 * drain policy's idle and deadline decisions — count the sticky sessions all instances saw.
 *
 * The sketches ride on a timer, never on a request: a request records into the local tracker only.
 */
import type { Logger } from 'pino';
import type { createClient } from 'redis';
import type { Balancer } from '../routing/balancer.js';
import type { DrainRegistry, DrainSketch } from '../routing/drain.js';
import { Act } from '../routing/types.js';
import { drainKey } from './redis-schema.js';

/** How often the sketches of disabled members are published and merged. */
export const DRAIN_SHARE_MS = 500;
/** A sketch nobody refreshes any more (its member is no longer drained anywhere) expires. */
const SKETCH_TTL_MS = 10 * 60_000;

type Client = ReturnType<typeof createClient>;

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Another instance's sketch as stored, or null when it is not one. */
function readSketch(raw: string): DrainSketch | null {
  let s: unknown;
  try {
    s = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof s !== 'object' || s === null) return null;
  const { windowSec, lastStickyMs, epochs, registers } = s as Record<string, unknown>;
  if (!isNumber(windowSec) || !isNumber(lastStickyMs) || typeof registers !== 'string') return null;
  // The layout (bucket count, register bytes) is checked by DrainTracker.merge.
  if (!Array.isArray(epochs) || !epochs.every(isNumber)) return null;
  return { windowSec, lastStickyMs, epochs, registers };
}

export class SharedDrains {
  private busy = false;

  constructor(
    private readonly client: Client,
    private readonly drains: DrainRegistry,
    private readonly balancers: () => ReadonlyMap<string, Balancer>,
    /** This process's field in the drain hashes. */
    private readonly id: string,
    private readonly logger: Logger,
  ) {}

  /** Publishes this instance's sketches of disabled members and merges the others'; one round at a time. */
  async share(): Promise<void> {
    if (this.busy) return;
    const drained: { b: Balancer; index: number; key: string }[] = [];
    for (const b of this.balancers().values()) {
      for (const m of b.members) if (m.activation === Act.DISABLED) drained.push({ b, index: m.index, key: drainKey(b.lb.name, m.name) });
    }
    if (drained.length === 0) return;
    this.busy = true;
    try {
      const multi = this.client.multi();
      for (const d of drained) {
        multi.hSet(d.key, this.id, JSON.stringify(this.drains.trackersOf(d.b)[d.index].sketch()));
        multi.pExpire(d.key, SKETCH_TTL_MS);
        multi.hGetAll(d.key);
      }
      const replies = (await multi.exec()) as unknown[];
      drained.forEach((d, i) => {
        const all = replies[i * 3 + 2] as Record<string, string>;
        const tracker = this.drains.trackersOf(d.b)[d.index];
        for (const [field, raw] of Object.entries(all)) {
          if (field === this.id) continue;
          const sketch = readSketch(raw);
          if (sketch === null) this.logger.warn({ key: d.key, instance: field }, 'shared state: drain sketch is not one; ignored');
          else tracker.merge(sketch);
        }
      });
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'shared state: drain sketches not shared this round');
    } finally {
      this.busy = false;
    }
  }
}
