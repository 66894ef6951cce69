/** Evaluation harness: dataset loaders, EasyEdit metrics, the lifelong protocol and the HTML report. */
export * from './datasets.js';
export * from './scorer.js';
export * from './metrics.js';
export * from './evaluate.js';
export * from './cache.js';
export * from './lifelong.js';
export * from './results.js';
export * from './chart.js';
export * from './report.js';
