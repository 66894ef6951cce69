/** Baseline editing methods for the evaluation harness (EasyEdit's FT-L, FT-M and GRACE), each an EditMethod. */
export * from './step.js';
export * from './edited-weight.js';
export * from './ft.js';
export * from './codebook.js';
export * from './grace.js';
