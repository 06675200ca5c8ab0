// IndexedDB persistence in headless Chromium (src/store/persist.ts): everything saved through one connection is
// loaded back equal through a new one (config, metric records, samples, labels, checkpoint bytes); a stage run again
// and a new run drop what they replace; clearSavedData() leaves the database empty.
import { afterAll, describe, expect, test } from 'vitest';
import type { MetricRecord } from '../../src/rlhf/metrics';
import type { Ranking } from '../../src/rlhf/preferences';
import { clearSavedData, DB_NAME, load, openLabStorage, type SavedConfig } from '../../src/store/persist';
import type { SampleRecord } from '../../src/worker/protocol';

const config: SavedConfig = { task: 'custom', preset: 'tiny', overrides: { 'ppo.klCoef': 0.05, seed: 3, 'ppo.adaptiveKL': 'off' }, custom: { sft: '{"prompt":"a","completion":"b"}\n' }, lesson: 'kl-sweep' };
const metrics: MetricRecord[] = [
  { stage: 'sft', step: 0, loss: 2.5, lr: 1e-3 },
  { stage: 'rm', step: 0, 'rm/loss': 0.69, 'rm/accuracy': 0.5 },
  { stage: 'ppo', step: 0, 'objective/kl': 0.1, 'objective/scores': -0.2 },
];
const samples: SampleRecord[] = [
  { prompt: 'The film', response: ' was great', policy: 'ppo', proxy: 1.25, gold: 0.5 },
  { prompt: 'The film', response: ' was bad', policy: 'bon-4', proxy: -0.5, gold: null },
];
const labels: Ranking[] = [{ prompt: 'P', completions: ['good', 'bad'], source: 'human' }];
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

describe('IndexedDB persistence', () => {
  afterAll(() => clearSavedData());

  test('save → a new connection loads it back equal; clearSavedData → empty', async () => {
    expect(DB_NAME).toBe('rlhf-lab');
    await clearSavedData();
    const a = await openLabStorage();
    await a.saveConfig(config);
    await a.appendMetrics(metrics.slice(0, 2));
    await a.appendMetrics(metrics.slice(2));
    await a.appendSamples(samples);
    await a.addLabels(labels);
    await a.saveCheckpoint('ppo', bytes(1000, 1));
    await a.saveCheckpoint('sft', bytes(5, 2));
    await a.saveCheckpoint('sft', bytes(300_000, 3)); // the latest per name
    a.close();

    const saved = await load();
    expect(saved.config).toEqual(config);
    expect(saved.metrics).toEqual(metrics);
    expect(saved.samples).toEqual(samples);
    expect(saved.labels).toEqual(labels);
    expect(saved.checkpoints.map((c) => c.name)).toEqual(['sft', 'ppo']);
    expect(saved.checkpoints[0].bytes).toBeInstanceOf(Uint8Array);
    expect(saved.checkpoints[0].bytes).toEqual(bytes(300_000, 3));
    expect(saved.checkpoints[1].bytes).toEqual(bytes(1000, 1));

    await clearSavedData();
    expect(await load()).toEqual({ config: undefined, metrics: [], samples: [], labels: [], checkpoints: [] });
  });

  test('clearStage drops one stage’s records and samples; clearRun keeps config and labels', async () => {
    const name = 'rlhf-lab-test-stages';
    const s = await openLabStorage(name);
    try {
      await s.clear();
      await s.saveConfig(config);
      await s.appendMetrics(metrics);
      await s.appendSamples(samples);
      await s.addLabels(labels);
      await s.saveCheckpoint('base', bytes(10, 0));
      await s.clearStage('rm');
      await s.clearStage('bon');
      let saved = await s.load();
      expect(saved.metrics).toEqual([metrics[0], metrics[2]]);
      expect(saved.samples).toEqual([samples[0]]);
      await s.clearRun();
      saved = await s.load();
      expect(saved).toEqual({ config, metrics: [], samples: [], labels, checkpoints: [] });
      await s.clearLabels();
      expect((await s.load()).labels).toEqual([]);
    } finally {
      await s.clear();
      s.close();
    }
  });
});
