/** MessageIds past this are not counted in doubles, and no window reaches them. */
const MAX_MESSAGE_ID = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The credit window (MS-SMB2 3.3.1.1 CommandSequenceWindow, 3.3.5.2.3):
 * message ids below `high` were granted; each may be used once. A request
 * whose ids fall outside the window or repeat is a protocol violation.
 */
export class CreditWindow {
  /** lowest id not yet used */
  private low = 0;
  /** ids below this were granted */
  private high = 1;
  private used = new Set<number>();

  constructor(private readonly max: number) {}

  get outstanding(): number {
    return this.high - this.low - this.used.size;
  }

  consume(messageId: bigint, charge: number): boolean {
    if (messageId > MAX_MESSAGE_ID) return false;
    const mid = Number(messageId);
    const n = Math.max(1, charge);
    if (mid < this.low || mid + n > this.high) return false;
    for (let i = 0; i < n; i++) if (this.used.has(mid + i)) return false;
    for (let i = 0; i < n; i++) this.used.add(mid + i);
    while (this.used.has(this.low)) {
      this.used.delete(this.low);
      this.low++;
    }
    return true;
  }

  /** Grants up to `requested` more (at least 1 while the client holds none); returns the number granted. */
  grant(requested: number, charge: number): number {
    const room = this.max - (this.high - this.low);
    let g = Math.min(Math.max(requested, charge > 0 ? 1 : 0), room);
    if (g <= 0) g = this.outstanding === 0 ? 1 : 0;
    this.high += g;
    return g;
  }
}
