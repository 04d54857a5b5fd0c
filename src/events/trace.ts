/**
 * The trace callbacks of a context (items 39, 42): one hook for every kind
 * (ctx.onTrace) and, as in tevent, one callback with private data per kind
 * (tevent_set_trace_{fd,timer,signal,immediate,queue}_callback). The
 * context calls a single function per trace point; this table builds it
 * when a callback changes, so handlers pay one null check whatever is set.
 */
import { TRACE_KINDS, type EventSite, type EventTraceCallback, type TraceHook, type TraceKind, type TraceRegistration, type TraceWhat } from './types.js';

export class TraceTable {
  all: TraceHook | null = null;
  private kinds: Record<TraceKind, TraceRegistration> | null = null;

  set(kind: TraceKind, callback: EventTraceCallback | null, privateData: unknown): void {
    checkKind(kind);
    if (!this.kinds) {
      const none = (): TraceRegistration => ({ callback: null, privateData: null });
      this.kinds = { fd: none(), timer: none(), immediate: none(), signal: none(), queue: none() };
    }
    this.kinds[kind] = { callback, privateData };
  }

  get(kind: TraceKind): TraceRegistration {
    checkKind(kind);
    const r = this.kinds?.[kind];
    return r ? { callback: r.callback, privateData: r.privateData } : { callback: null, privateData: null };
  }

  /** What the context calls per trace point: null when nothing is set. */
  dispatcher(): TraceHook | null {
    const all = this.all;
    const kinds = this.kinds;
    if (!kinds || TRACE_KINDS.every((k) => kinds[k].callback === null)) return all;
    return (what: TraceWhat, ev: EventSite): void => {
      if (all) all(what, ev);
      const r = kinds[ev.kind];
      if (r.callback) r.callback(ev, what, r.privateData);
    };
  }
}

function checkKind(kind: TraceKind): void {
  if (!TRACE_KINDS.includes(kind)) throw new RangeError(`unknown trace kind ${String(kind)}`);
}
