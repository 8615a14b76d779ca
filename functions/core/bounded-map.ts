// A Map with a size cap: inserting past the cap evicts the entry written longest ago. For in-memory
// state keyed by something that arrives with messages (alert subjects, ids), which would otherwise
// grow for as long as an instance lives. Pure.
import { ContractViolationError } from "./error-family.ts";

export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new ContractViolationError(`BoundedMap capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Writes `key` as the newest entry; returns the entries evicted to stay within the cap (oldest first). */
  set(key: K, value: V): [K, V][] {
    // Re-inserting moves the key to the end of the Map's insertion order: "oldest" means least recently written.
    this.entries.delete(key);
    this.entries.set(key, value);
    const evicted: [K, V][] = [];
    for (const [oldest, held] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldest);
      evicted.push([oldest, held]);
    }
    return evicted;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  keys(): IterableIterator<K> {
    return this.entries.keys();
  }
}
