/**
 * wise-edit engine: the only module that imports onnxruntime-node. Runs graphs built with
 * src/graph on cached sessions.
 *
 *   const engine = new Engine({ intraOpNumThreads: 2 });   // or run() on the default engine
 *   const { loss, dw } = await engine.run(g, { x: f32(xs, [2, 8, 16]), w, targets: i64(ids, [2, 8]) });
 */
export { Engine, run, runSession, defaultEngine, validateFeeds, type Feeds } from './run.js';
export { SessionCache, type GraphSource, type EngineOptions, type ExecutionProvider, type CacheStats } from './session.js';
export { tensor, f32, f64, i64, bool, toOrt, fromOrt, type Tensor } from './tensor.js';
