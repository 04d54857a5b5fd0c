/** MS-FSCC information classes and FILETIME helpers. */
export * from './time.js';
export * from './file-info.js';
export * from './set-info.js';
export * from './directory.js';
export * from './fs-info.js';
