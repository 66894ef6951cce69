/**
 * wise-edit's public library API. Everything a program needs is re-exported here;
 * deep imports into src/ are not part of the API.
 */
export { WiseError, isWiseError, ERROR_CODES, type ErrorCode } from './util/errors.js';
export { Rng } from './util/rng.js';
export { resolveConfig, validateConfig } from './config/load.js';
export { DEFAULTS, ConfigSchema, type Config, type WiseConfig } from './config/schema.js';
export { dataDir, defaultStoreDir, bundledModelDir } from './config/paths.js';
