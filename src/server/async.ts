/**
 * Requests that wait (MS-SMB2 3.3.4.2, 3.3.5.16): a CREATE held up by an
 * oplock or lease break, later CHANGE_NOTIFY and blocking LOCK. A waiting
 * request is registered here by MessageId; going async gives it an AsyncId
 * (the connection sends the interim STATUS_PENDING response), and CANCEL
 * finds it by either id and runs its cancel function. One table per
 * connection; nothing here touches the wire.
 */

export interface PendingRequest {
  readonly messageId: bigint;
  readonly sessionId: bigint;
  /** 0n until the request went async */
  asyncId: bigint;
  /** the interim response granted the credits: the final one grants none */
  creditsGranted: boolean;
  cancelled: boolean;
  /** what cancelled it: a CANCEL request, a LOGOFF of its session, or the connection going */
  cancelledBy?: 'cancel' | 'logoff' | 'gone';
  /** called once, on CANCEL or when the session or connection goes away */
  onCancel: (() => void) | null;
  /** a replayable CREATE (replay.ts): the loss of its connection alone does not cancel it */
  outlivesChannel?: boolean;
}

export class PendingTable {
  private readonly byMessage = new Map<bigint, PendingRequest>();
  private readonly byAsync = new Map<bigint, PendingRequest>();
  private nextAsyncId = 1n;

  get size(): number {
    return this.byMessage.size;
  }

  /** The request with this MessageId, registering it when new. */
  register(messageId: bigint, sessionId: bigint): PendingRequest {
    let p = this.byMessage.get(messageId);
    if (!p) {
      p = { messageId, sessionId, asyncId: 0n, creditsGranted: false, cancelled: false, onCancel: null };
      this.byMessage.set(messageId, p);
    }
    return p;
  }

  get(messageId: bigint): PendingRequest | undefined {
    return this.byMessage.get(messageId);
  }

  /** Gives the request its AsyncId (3.3.4.2: unique among this connection's async requests). */
  makeAsync(p: PendingRequest): bigint {
    if (p.asyncId === 0n) {
      p.asyncId = this.nextAsyncId++;
      this.byAsync.set(p.asyncId, p);
    }
    return p.asyncId;
  }

  /** Forgets a request once its final response is built. */
  remove(p: PendingRequest): void {
    this.byMessage.delete(p.messageId);
    if (p.asyncId !== 0n) this.byAsync.delete(p.asyncId);
  }

  /**
   * CANCEL (3.3.5.16): by AsyncId when the CANCEL is async, else by MessageId.
   * A request of another session is left alone. Returns whether one was cancelled.
   */
  cancel(by: { asyncId?: bigint; messageId?: bigint }, sessionId: bigint | null): boolean {
    const p = by.asyncId !== undefined ? this.byAsync.get(by.asyncId) : this.byMessage.get(by.messageId ?? -1n);
    if (!p || (sessionId !== null && p.sessionId !== sessionId && p.sessionId !== 0n)) return false;
    return fire(p, 'cancel');
  }

  /** Cancels every request of a session (LOGOFF), or all of them (connection gone). */
  cancelAll(sessionId?: bigint): void {
    for (const p of [...this.byMessage.values()]) if (sessionId === undefined || p.sessionId === sessionId) fire(p, sessionId === undefined ? 'gone' : 'logoff');
  }

  /**
   * The connection went: cancels its requests, except those that outlive their
   * channel and whose session `livesOn` (they finish for a replay to find; their
   * answers go nowhere). Those are forgotten here: a LOGOFF or CANCEL cannot reach them now.
   */
  connectionGone(livesOn: (sessionId: bigint) => boolean): void {
    for (const p of [...this.byMessage.values()]) {
      if (p.outlivesChannel && livesOn(p.sessionId)) {
        p.onCancel = null;
        this.remove(p);
      } else fire(p, 'gone');
    }
  }
}

function fire(p: PendingRequest, by: 'cancel' | 'logoff' | 'gone'): boolean {
  if (p.cancelled) return false;
  p.cancelled = true;
  p.cancelledBy = by;
  const fn = p.onCancel;
  p.onCancel = null;
  fn?.();
  return fn !== null;
}

/**
 * Waits for `work` unless the request is cancelled first: `register` hands the
 * cancel function to the connection (SmbConnection.onCancel). Resolves true
 * when cancelled (the handler then answers STATUS_CANCELLED).
 */
export function untilDoneOrCancelled(register: (cancel: () => void) => void, work: Promise<unknown>): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const end = (cancelled: boolean): void => {
      if (settled) return;
      settled = true;
      resolve(cancelled);
    };
    register(() => end(true));
    work.then(() => end(false), () => end(false));
  });
}
