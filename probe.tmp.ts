import { sampleToken } from './src/model/sampling.js';
import { Rng } from './src/util/rng.js';
for (const V of [4096, 50257, 151936]) {
  const rng = new Rng(1);
  const row = new Float32Array(V);
  for (let i = 0; i < V; i++) row[i] = (rng.next() - 0.5) * 20;
  for (const o of [{ temperature: 1, topP: 1 }, { temperature: 0.8, topP: 0.95 }, { temperature: 0.8, topP: 1, topK: 40 }]) {
    for (let i = 0; i < 3; i++) sampleToken(row, o, rng);
    const t0 = performance.now();
    const n = 20;
    for (let i = 0; i < n; i++) sampleToken(row, o, rng);
    console.log(V, JSON.stringify(o), ((performance.now() - t0) / n).toFixed(2), 'ms');
  }
}
