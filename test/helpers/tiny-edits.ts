/**
 * The editor-mechanics setting on the tiny llama fixture (a random model): an irrelevant-sample pool,
 * five edits and a small config (layer 1, 8 steps, a save every 2 edits, a merge every 4), shared by
 * the tests that check routing, the schedule, revert and training placement rather than edit quality.
 */
import { DEFAULTS, type WiseConfig } from '../../src/config/schema.js';

export const TINY_POOL = ['The sky is blue.', 'Water is wet.', 'Two plus two is four.', 'Cats like fish.'];
export const TINY_EDITS = [
  { prompt: 'The capital of France is', target: 'Rome' },
  { prompt: "Danielle Darrieux's mother tongue is", target: 'Dutch' },
  { prompt: 'The best fruit is', target: 'apple' },
  { prompt: 'My dog is', target: 'big' },
  { prompt: 'The color of grass is', target: 'red' },
];
export const TINY_CFG: WiseConfig = { ...DEFAULTS.wise, layer: 1, n_iter: 8, save_freq: 2, merge_freq: 4, context_templates: 2 };
