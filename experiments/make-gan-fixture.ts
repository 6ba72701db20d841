/**
 * Makes tests/fixtures/gan-tiny/ (issue #19): a deliberately tiny SliceGAN generator
 * (src/reconstruct/gan.ts), trained for a few steps on the 32×24×16 NMC crop the import tests
 * use (tests/fixtures/real/nmc-u16.npy), conditioned on porosity. It is a fixture for the twin
 * contract and wiring tests (twins/gan.ts), not a useful model.
 *
 *   npx tsx experiments/make-gan-fixture.ts
 */
import { saveGan, trainGan, useGanBackend } from '../src/reconstruct/gan.js';
import { readVolume } from '../src/voxel/io.js';

await useGanBackend();
const volume = readVolume('tests/fixtures/real/nmc-u16.npy');
const { model } = await trainGan({
  volumes: [volume],
  condition: { mode: 'fraction', name: 'porosity', label: 0 },
  side: 16,
  epochs: 1,
  itersPerEpoch: 3,
  criticIters: 2,
  latentChannels: 4,
  generatorHidden: [8, 8, 4],
  discriminatorHidden: [4, 8, 8],
  seed: 1,
  source: 'tests/fixtures/real/nmc-u16.npy',
});
saveGan(model, 'tests/fixtures/gan-tiny');
console.log(model.metadata.condition, model.metadata.training.wallMs, 'ms');
