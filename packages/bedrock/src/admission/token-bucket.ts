/**
 * A token bucket refilled continuously: `ratePerMinute` tokens a minute, holding at most
 * `capacity` (the burst). The level may go negative: a call that used more tokens than it was
 * charged leaves a debt the refill pays off before anyone else is admitted.
 */
export class TokenBucket {
  readonly capacity: number;
  readonly ratePerMinute: number;
  private level: number;
  private updatedAt: number;
  private readonly now: () => number;

  constructor(ratePerMinute: number, capacity: number, now: () => number) {
    this.ratePerMinute = ratePerMinute;
    this.capacity = capacity;
    this.now = now;
    this.level = capacity;
    this.updatedAt = now();
  }

  private refill(): void {
    const at = this.now();
    this.level = Math.min(this.capacity, this.level + ((at - this.updatedAt) * this.ratePerMinute) / 60_000);
    this.updatedAt = at;
  }

  available(): number {
    this.refill();
    return this.level;
  }

  /**
   * What a request of `amount` is charged: never more than the bucket can hold, so a huge request is admitted when it
   * is full.
   */
  charge(amount: number): number {
    return Math.min(amount, this.capacity);
  }

  canTake(amount: number): boolean {
    return this.available() >= this.charge(amount) - 1e-9;
  }

  take(amount: number): void {
    this.refill();
    this.level -= this.charge(amount);
  }

  /** Return (positive) or charge more (negative) after the fact, e.g. actual token usage. */
  adjust(amount: number): void {
    this.refill();
    this.level = Math.min(this.capacity, this.level + amount);
  }

  /** Empty it: the server said its quota is spent, so ours should be too. */
  drain(): void {
    this.refill();
    this.level = Math.min(this.level, 0);
  }

  /** Milliseconds until `amount` can be taken (0 if now). */
  msUntil(amount: number): number {
    const missing = this.charge(amount) - this.available();
    return missing <= 0 ? 0 : Math.ceil((missing * 60_000) / this.ratePerMinute);
  }
}
