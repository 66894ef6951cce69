import { readFileSync } from 'node:fs';
import { CausalLM } from './src/model/causal-lm.js';
import { SideMemory } from './src/memory/side-memory.js';
import { bernoulliMask } from './src/memory/masks.js';
const bench = JSON.parse(readFileSync('datasets/bundled-zsre.json', 'utf8'));
const lm = await CausalLM.load('/tmp/wb-partial');
for (const setting of JSON.parse(process.argv[2]!)) {
  const sm = new SideMemory(lm, { layer: setting.layer ?? 4, margin: {alpha:setting.alpha ?? 5,beta:setting.beta ?? 20,gamma:setting.gamma ?? 10, weight: setting.w ?? 1}, hparams: {lr:setting.lr, nIter:setting.n ?? 70, normConstraint:1, weightDecay:0, earlyStopTol:1e-4, earlyStopLoss:0.02} });
  const tpl = ['{}', 'Incheon is a {}', 'You is a city located in {}'];
  const r0 = bench[0];
  const b = sm.batch(tpl, { prompt: r0.src, target: r0.alt, irrelevant: 'Q: Name the country where Ufa is. A: Russia' });
  const side = Float32Array.from(sm.base); const mask = bernoulliMask(1, side.length, setting.rho ?? 0.2);
  const r = await sm.train(side, mask, b);
  console.log(JSON.stringify(setting), 'steps', r.steps, 'loss', r.losses.filter((_, i) => i % 10 === 0).map(x => x.toFixed(2)).join(' '), 'final', r.finalLoss.toFixed(3), 'scores', r.scores.map(x => x.toFixed(1)).join(','));
}
let mx = 0, s2 = 0; const w = lm.ckpt.weights.get('model.layers.4.mlp.down_proj.weight')!.data; for (const v of w) { mx = Math.max(mx, Math.abs(v)); s2 += v*v; } console.log('W max', mx, 'rms', Math.sqrt(s2/w.length));
