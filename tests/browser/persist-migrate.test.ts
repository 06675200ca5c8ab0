// A saved session of the format before the stage registry (database version 2, as the page wrote it then: PPO's win
// rate as eval/win_rate, a KL sweep kept) opens upgraded in headless Chromium: every record and kept series carries
// the evaluation's per-policy names, nothing else changes, and the run store draws it as it draws a new run's. The
// upgrade stamps the records as format 2 and reading migrates them (src/store/saved-records.ts). A session of version 3
// (the per-policy names already) is stamped as format 3 and read as it was.
import { deleteDB, openDB } from 'idb';
import { describe, expect, test } from 'vitest';
import { openLabStorage, RENAMED_METRICS } from '../../src/store/persist';
import { SCHEMA_KEY } from '../../src/store/saved-records';
import { createRunStore, MetricSeries } from '../../src/store/run';
import { createVersion1Stores } from '../helpers/old-databases';

const NAME = 'rlhf-lab-test-v2';

/** The records version 2 saved: an SFT loss, a PPO iteration and the evaluation's PPO win rate. */
const V2_METRICS = [
  { stage: 'sft', step: 0, loss: 2.5 },
  { stage: 'ppo', step: 0, 'objective/kl': 0.5, 'objective/scores': 0.25 },
  { stage: 'eval', step: 0, 'eval/win_rate': 0.7, 'eval/win_rate_lo': 0.6, 'eval/win_rate_hi': 0.8, 'eval/gold_sft': 0.1, 'eval/gold_ppo': 0.3 },
];

/** Creates the database exactly as version 2 of src/store/persist.ts did, and fills it. */
async function writeVersion2(): Promise<void> {
  const db = await openDB(NAME, 2, {
    upgrade(d) {
      createVersion1Stores(d);
      d.createObjectStore('sweep'); // version 2's addition
    },
  });
  const series = new MetricSeries();
  series.pushRecord({ stage: 'ppo', step: 0, 'objective/kl': 0.2 });
  const columns = [...series.toColumns(), { name: 'eval/win_rate', stage: 'eval', x: new Float64Array([0]), y: new Float64Array([0.55]) }];
  const tx = db.transaction(['config', 'metrics', 'samples', 'checkpoints', 'sweep'], 'readwrite');
  await tx.objectStore('config').put({ task: 'sentiment', preset: 'tiny', overrides: { 'ppo.klCoef': '0' }, lesson: 'kl-sweep' }, 'current');
  for (const r of V2_METRICS) await tx.objectStore('metrics').add(r);
  await tx.objectStore('samples').add({ prompt: 'p', response: 'r', policy: 'ppo', proxy: 1, gold: 0.5, stage: 'eval' });
  await tx.objectStore('checkpoints').put({ name: 'ppo', bytes: new Uint8Array([1, 2, 3]) });
  await tx.objectStore('sweep').put({ runLabel: 'β = 0', runs: [{ label: 'β = 0.2', series: columns, frontier: { ppo: [{ step: 0, sqrtKl: 0.4, proxy: 0.2, gold: 0.1 }], bon: [] } }] }, 'current');
  await tx.done;
  db.close();
}

describe('a saved session of version 2', () => {
  test('opens upgraded: metric names per policy, everything else as it was', async () => {
    await deleteDB(NAME);
    try {
      await writeVersion2();
      const storage = await openLabStorage(NAME);
      const saved = await storage.load();
      storage.close();
      expect(saved.config).toEqual({ task: 'sentiment', preset: 'tiny', overrides: { 'ppo.klCoef': '0' }, lesson: 'kl-sweep' });
      expect(saved.metrics).toEqual([
        V2_METRICS[0],
        V2_METRICS[1],
        { stage: 'eval', step: 0, 'eval/win_rate_ppo': 0.7, 'eval/win_rate_lo_ppo': 0.6, 'eval/win_rate_hi_ppo': 0.8, 'eval/gold_sft': 0.1, 'eval/gold_ppo': 0.3 },
      ]);
      for (const r of saved.metrics) for (const old of Object.keys(RENAMED_METRICS)) expect(r).not.toHaveProperty([old]);
      expect(saved.samples).toEqual([{ prompt: 'p', response: 'r', policy: 'ppo', proxy: 1, gold: 0.5 }]);
      expect(saved.checkpoints.map((c) => [c.name, [...c.bytes]])).toEqual([['ppo', [1, 2, 3]]]);
      const kept = saved.sweep!.runs[0];
      expect(kept.series.map((c) => c.name)).toEqual(['objective/kl', 'eval/win_rate_ppo']);
      expect(kept.frontier.ppo).toEqual([{ step: 0, sqrtKl: 0.4, proxy: 0.2, gold: 0.1 }]);

      // As stored, the records keep version 2's names, stamped as format 2: reading migrates them (saved-records.ts).
      const raw = await openDB(NAME);
      expect((await raw.getAll('metrics')).map((r) => [r[SCHEMA_KEY], Object.hasOwn(r, 'eval/win_rate')])).toEqual([[2, false], [2, false], [2, true]]);
      raw.close();

      // The run store takes it as it takes a new run's records: the latest win rate under its new name.
      const run = createRunStore({ schedule: () => () => {} });
      run.getState().onMetrics(saved.metrics);
      run.getState().flush();
      expect(run.getState().latest['eval/win_rate_ppo']).toEqual({ value: 0.7, stage: 'eval', step: 0 });
      expect(MetricSeries.fromColumns(kept.series).get('eval/win_rate_ppo', 'eval').y[0]).toBe(0.55);
    } finally {
      await deleteDB(NAME);
    }
  });
});

describe('a saved session of version 3', () => {
  test('opens upgraded: its records, already with per-policy names, are stamped as format 3 and read unchanged', async () => {
    const name = `${NAME}-3`;
    await deleteDB(name);
    try {
      // Version 3 had version 2's stores; its records carried no format stamp.
      const db = await openDB(name, 3, {
        upgrade(d) {
          createVersion1Stores(d);
          d.createObjectStore('sweep');
        },
      });
      const metrics = [V2_METRICS[0], { stage: 'eval', step: 0, 'eval/win_rate_ppo': 0.7, 'eval/gold_ppo': 0.3 }];
      for (const r of metrics) await db.add('metrics', r);
      db.close();
      const storage = await openLabStorage(name);
      const saved = await storage.load();
      storage.close();
      expect(saved.metrics).toEqual(metrics);
      const raw = await openDB(name);
      expect((await raw.getAll('metrics')).map((r) => r[SCHEMA_KEY])).toEqual([3, 3]);
      raw.close();
    } finally {
      await deleteDB(name);
    }
  });
});
