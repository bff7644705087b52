/**
 * The one bounded cache of the fast paths: a Map of at most `max` entries that, when full, drops
 * its oldest entry (the first inserted) to make room. Oldest-out needs no bookkeeping on a hit, so
 * a lookup costs what a Map lookup costs; on a source that repeats, what is dropped is learned
 * again at the price of one miss. Memory is bounded by `max` times the size of an entry, which
 * every user bounds too (texts of at most a few KiB).
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();

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
    if (!this.map.has(key) && this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
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
