/**
 * The one bounded cache of the fast paths: a Map of at most `max` entries that, when full, drops
 * its oldest entry (the first inserted) to make room. Oldest-out needs no bookkeeping on a hit, so
 * a lookup costs what a Map lookup costs; on a source that repeats, what is dropped is learned
 * again at the price of one miss. Memory is bounded by `max` times the size of an entry, which
 * every user bounds too (texts of at most a few KiB).
 *
 * The keys are also kept in insertion order in a ring (`order`), so the oldest is found without
 * iterating the Map: `map.keys().next()` walks past every entry deleted since the Map last
 * rehashed, thousands once a cache evicts on every insert (5.7-14 µs an insert at 10,000-20,000
 * entries, against 0.25-0.5 µs with the ring). Invariant: read from `next` round to `next`, the
 * ring holds the Map's keys in the order they were inserted (a key is only ever removed as the
 * oldest, or all at once by `clear`).
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  private readonly order: K[] = [];
  /** Where the oldest key is in `order` once the map is full. */
  private next = 0;

  constructor(readonly max: number) {}

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  /** The value under `key`, made by `make` and kept when there is none. */
  getOrMake(key: K, make: () => V): V {
    let value = this.map.get(key);
    if (value === undefined) {
      value = make();
      this.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): this {
    if (!this.map.has(key)) {
      if (this.order.length < this.max) this.order.push(key);
      else {
        this.map.delete(this.order[this.next] as K);
        this.order[this.next] = key;
        this.next = this.next + 1 < this.order.length ? this.next + 1 : 0;
      }
    }
    this.map.set(key, value);
    return this;
  }

  get size(): number {
    return this.map.size;
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  clear(): void {
    this.map.clear();
    this.order.length = 0;
    this.next = 0;
  }
}

/**
 * Lists of values by key, for caches whose key narrows the candidates down (an IP, a hash) and a
 * comparison picks one: at most `maxKeys` keys, the oldest out as in `BoundedMap`, and at most
 * `perKey` values under one key, its oldest out. So at most `maxKeys * perKey` values.
 */
export class BoundedLists<K, V> {
  private readonly lists: BoundedMap<K, V[]>;

  constructor(
    maxKeys: number,
    private readonly perKey: number,
  ) {
    this.lists = new BoundedMap(maxKeys);
  }

  get(key: K): readonly V[] | undefined {
    return this.lists.get(key);
  }

  add(key: K, value: V): void {
    const list = this.lists.get(key);
    if (!list) {
      this.lists.set(key, [value]);
      return;
    }
    if (list.length >= this.perKey) list.shift();
    list.push(value);
  }
}
