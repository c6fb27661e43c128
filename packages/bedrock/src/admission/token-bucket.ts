/**
 * A token bucket refilled continuously: `ratePerMinute` tokens a minute, holding at most
 * `capacity` (the burst). The level may go negative: a call that used more tokens than it was
 * charged leaves a debt the refill pays off before anyone else is admitted.
 */
export class TokenBucket {
  private _capacity: number;
  private _ratePerMinute: number;
  private level: number;
  private updatedAt: number;
  private readonly now: () => number;

  /** `initialLevel`: what it holds at first (default: full). A pacer starts with a small burst, not a full one. */
  constructor(ratePerMinute: number, capacity: number, now: () => number, initialLevel?: number) {
    this._ratePerMinute = ratePerMinute;
    this._capacity = capacity;
    this.now = now;
    this.level = Math.min(capacity, initialLevel ?? capacity);
    this.updatedAt = now();
  }

  get capacity(): number {
    return this._capacity;
  }

  get ratePerMinute(): number {
    return this._ratePerMinute;
  }

  private refill(): void {
    const at = this.now();
    this.level = Math.min(this._capacity, this.level + ((at - this.updatedAt) * this._ratePerMinute) / 60_000);
    this.updatedAt = at;
  }

  /**
   * Re-rate from now on: what accrued so far accrued at the old rate, and the level carries over (no token created or
   * lost — only what no longer fits a smaller burst is cut off, as a full bucket's overflow is).
   */
  setRate(ratePerMinute: number, capacity: number = this._capacity): void {
    this.refill();
    this._ratePerMinute = ratePerMinute;
    this._capacity = capacity;
    this.level = Math.min(this._capacity, this.level);
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
    return Math.min(amount, this._capacity);
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
    this.level = Math.min(this._capacity, this.level + amount);
  }

  /** Empty it (down to `keep`): the server said its quota is spent, so ours should be too. */
  drain(keep = 0): void {
    this.refill();
    this.level = Math.min(this.level, keep);
  }

  /** Milliseconds until `amount` can be taken (0 if now). */
  msUntil(amount: number): number {
    const missing = this.charge(amount) - this.available();
    if (missing <= 0) return 0;
    return this._ratePerMinute > 0 ? Math.ceil((missing * 60_000) / this._ratePerMinute) : Number.POSITIVE_INFINITY;
  }
}
