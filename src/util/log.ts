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
