/**
 * Creation sites of events (tevent records where every event was made).
 * Capturing one frame is cheap; formatting happens only when read.
 */
export interface SiteHolder {
  stack?: string;
}

// eslint-disable-next-line @typescript-eslint/ban-types
export function captureSite(skip: Function): SiteHolder {
  const o: SiteHolder = {};
  const prev = Error.stackTraceLimit;
  Error.stackTraceLimit = 1;
  Error.captureStackTrace(o, skip);
  Error.stackTraceLimit = prev;
  return o;
}

export function formatSite(h: SiteHolder | null): string {
  if (!h) return 'unknown';
  const s = h.stack ?? '';
  const i = s.indexOf('\n');
  return (i < 0 ? s : s.slice(i + 1)).trim() || 'unknown';
}
