// IndexedDB persistence of what a KL sweep needs across a reload, in headless Chromium (src/store/persist.ts): a new
// configuration keeps the checkpoints the worker kept; the sweep (kept runs as typed-array columns, frontier, run
// label, each run's configuration where it has one) loads back equal through a new connection, an empty one removes it and clear() wipes it; and a database of
// version 1 (before the sweep store) opens upgraded with its data intact.
import { deleteDB, openDB } from 'idb';
import { describe, expect, test } from 'vitest';
import { makePipelineConfig } from '../../src/rlhf/config';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { DB_VERSION, openLabStorage, type SavedConfig, type SavedSweep } from '../../src/store/persist';
import { MetricSeries } from '../../src/store/run';
import { createVersion1Stores } from '../helpers/old-databases';

const config: SavedConfig = { task: 'sentiment', preset: 'tiny', overrides: { 'ppo.klCoef': '0' }, lesson: 'kl-sweep' };
const metrics: MetricRecord[] = [{ stage: 'ppo', step: 0, 'objective/kl': 0.1, 'objective/scores': -0.2 }];

/** A kept run's worth of columns: 2,000 PPO iterations of two metrics, and a few SFT losses. */
function sweep(): SavedSweep {
  const series = new MetricSeries();
  for (let i = 0; i < 2000; i++) series.pushRecord({ stage: 'ppo', step: i, 'objective/scores': Math.sin(i), 'objective/kl': i / 1000 });
  for (let i = 0; i < 3; i++) series.push('loss', 'sft', i, 3 - i);
  return {
    runLabel: 'β = 0.05',
    runs: [
      // The run's configuration comes back with it; a run saved before kept runs kept theirs has none.
      { label: 'β = 0.2', series: series.toColumns(), frontier: { ppo: [{ step: 0, sqrtKl: 0, proxy: 0, gold: NaN }], bon: [{ step: 4, sqrtKl: 1.2, proxy: 0.7, gold: 0.4 }] }, config: makePipelineConfig('tiny', { 'ppo.klCoef': 0.2, 'ppo.rewardSource': 'gold' }) },
      { label: 'β = 0.1', series: series.toColumns(), frontier: { ppo: [] } },
    ],
  };
}

/** Runs `body` on a fresh database `name`, deleted afterwards. */
async function withDatabase(name: string, body: () => Promise<void>) {
  await deleteDB(name);
  try {
    await body();
  } finally {
    await deleteDB(name);
  }
}

describe('IndexedDB: a sweep across a reload', () => {
  test('clearRun keeps the checkpoints named (the worker kept them) and drops the rest', () =>
    withDatabase('rlhf-lab-test-kept', async () => {
      const s = await openLabStorage('rlhf-lab-test-kept');
      for (const [i, name] of (['base', 'sft', 'reward-model', 'ppo'] as const).entries()) await s.saveCheckpoint(name, new Uint8Array([i, i]));
      await s.appendMetrics(metrics);
      await s.clearRun(['base', 'sft']);
      const saved = await s.load();
      expect(saved.checkpoints).toEqual([
        { name: 'base', bytes: new Uint8Array([0, 0]) },
        { name: 'sft', bytes: new Uint8Array([1, 1]) },
      ]);
      expect(saved.metrics).toEqual([]);
      s.close();
    }));

  test('the sweep loads back equal through a new connection; an empty one removes it; clear() wipes it', () =>
    withDatabase('rlhf-lab-test-sweep', async () => {
      const a = await openLabStorage('rlhf-lab-test-sweep');
      await a.saveSweep({ runLabel: 'β = 0.2', runs: [] });
      await a.saveSweep(sweep()); // replaces it
      a.close();

      const b = await openLabStorage('rlhf-lab-test-sweep');
      const loaded = (await b.load()).sweep!;
      expect(loaded).toEqual(sweep());
      expect(loaded.runs[0].series[0].y).toBeInstanceOf(Float64Array);
      const back = MetricSeries.fromColumns(loaded.runs[0].series);
      expect(back.length('objective/scores', 'ppo')).toBe(2000);
      expect(back.get('objective/scores', 'ppo').y[1999]).toBe(Math.sin(1999));
      expect(Number.isNaN(loaded.runs[0].frontier.ppo[0].gold)).toBe(true);

      await b.saveSweep({ runLabel: undefined, runs: [] });
      expect((await b.load()).sweep).toBeUndefined();
      await b.saveSweep(sweep());
      await b.clear();
      expect(await b.load()).toEqual({ config: undefined, metrics: [], samples: [], labels: [], checkpoints: [] });
      b.close();
    }));

  test('a version 1 database (no sweep store) opens upgraded, its data intact', () =>
    withDatabase('rlhf-lab-test-upgrade', async () => {
      expect(DB_VERSION).toBe(4); // version 2 → 3 (metric names), 3 → 4 (records stamped): persist-migrate.test.ts
      // The database as version 1 made it.
      const v1 = await openDB('rlhf-lab-test-upgrade', 1, {
        upgrade: createVersion1Stores,
      });
      await v1.put('config', config, 'current');
      await v1.add('metrics', metrics[0]);
      await v1.put('checkpoints', { name: 'sft', bytes: new Uint8Array([7]) });
      v1.close();

      const s = await openLabStorage('rlhf-lab-test-upgrade');
      expect(await s.load()).toEqual({ config, metrics, samples: [], labels: [], checkpoints: [{ name: 'sft', bytes: new Uint8Array([7]) }] });
      await s.saveSweep(sweep());
      await s.clearStage('ppo'); // the stage index survived the upgrade
      const saved = await s.load();
      expect([saved.metrics, saved.sweep?.runLabel]).toEqual([[], 'β = 0.05']);
      s.close();
    }));
});
