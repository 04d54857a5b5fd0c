/** A small levelled logger: one line per event, to stderr by default. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  level: LogLevel;
  log(level: LogLevel, msg: string): void;
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  enabled(level: LogLevel): boolean;
}

export function createLogger(level: LogLevel = 'info', sink: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const lg: Logger = {
    level,
    enabled: (l) => ORDER[l] <= ORDER[lg.level],
    log(l, msg) {
      if (ORDER[l] <= ORDER[lg.level]) sink(`${new Date().toISOString()} ${l.padEnd(5)} ${msg}`);
    },
    error: (m) => lg.log('error', m),
    warn: (m) => lg.log('warn', m),
    info: (m) => lg.log('info', m),
    debug: (m) => lg.log('debug', m),
  };
  return lg;
}

/**
 * One kind of log line that a client can cause over and over (a refused
 * open, a failing accept): the first goes out at once, then at most one per
 * `intervalMs`, saying how many were held back since.
 */
export function throttledLog(sink: (msg: string) => void, intervalMs = 10_000): (msg: string) => void {
  let last = -Infinity;
  let held = 0;
  return (msg) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      held++;
      return;
    }
    last = now;
    sink(held ? `${msg} (${held} more like it since the last such line)` : msg);
    held = 0;
  };
}
