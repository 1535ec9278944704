/** A fixed-capacity buffer: history never grows past what the screen can show. */
export class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;
  constructor(readonly capacity: number) {}

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  get length(): number {
    return this.items.length;
  }

  /** The newest n items (all by default), oldest first. */
  last(n = this.items.length): T[] {
    const all = this.start === 0 ? this.items.slice() : [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
    return all.slice(Math.max(0, all.length - n));
  }
}
