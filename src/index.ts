/**
 * ringsmb's package entry (package.json "main"/"exports"): the server and
 * its configuration, the event context and the io_uring layer it runs on.
 *
 *   import { createServer } from 'ringsmb';
 *   const server = createServer({ listen: [{ host: '127.0.0.1', port: 4445 }], shares: [...], users: [...] });
 *   await server.listen();
 */
export { createServer, SmbServer, type ServerOptions, type SmbServerEvents } from './server/server.js';
export {
  defaultConfig, loadConfigFile, mergeConfig, parseListen, parseShareSpec, parseUserSpec, validateConfig, ConfigError, DEFAULT_PORT,
  type ServerConfig, type ShareConfig, type UserConfig, type LogLevel,
} from './server/config.js';
export { createEventContext, EventContext, type EventContextOptions } from './events/index.js';
export { Ring, type RingOptions } from './uring/index.js';
