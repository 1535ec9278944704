/** A fixed-capacity buffer: history never grows past what the screen can show. */
export class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;
  /** How many items were ever pushed: a point in the ring's history (pause keeps one). */
  pushed = 0;
  constructor(readonly capacity: number) {}

  push(item: T): void {
    this.pushed++;
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  get length(): number {
    return this.items.length;
  }

  /** The newest n items of those pushed before the upTo-th (a pushed count), oldest first. */
  lastUpTo(n: number, upTo: number): T[] {
    const newer = Math.max(0, this.pushed - upTo); // pushed since then: left out
    const all = this.last();
    return all.slice(0, Math.max(0, all.length - newer)).slice(-n);
  }

  /** The newest n items (all by default), oldest first. */
  last(n = this.items.length): T[] {
    const all =
      this.start === 0 ? this.items.slice() : [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
    return all.slice(Math.max(0, all.length - n));
  }
}
