// Damaged saved data in real IndexedDB (headless Chromium). A database of version 3 as the page wrote it, with a null
// metric record, a metric of the wrong type and a sweep whose series has more steps than values beside good records:
// it opens upgraded to version 4 (every record stamped with the format it was written in; code of version 3 can no
// longer open it); the good records come back, the damaged ones are skipped and counted; new records are stamped with
// the current format; a record of a newer format is skipped as such. Through the page's session the restore goes on
// with what is good and says what was skipped — where session.start() used to reject (the null record reached the run
// store), leaving a half-restored page and no message.
import { deleteDB, openDB } from 'idb';
import { afterEach, describe, expect, test } from 'vitest';
import { makePipelineConfig } from '../../src/rlhf/config';
import { createLabStore } from '../../src/store';
import { createLabSession } from '../../src/store/bridge';
import { openLabStorage } from '../../src/store/persist';
import { createRunStore } from '../../src/store/run';
import { RECORD_SCHEMA_VERSION, SCHEMA_KEY } from '../../src/store/saved-records';
import type { Command, TaskInfo } from '../../src/worker/protocol';
import { createVersion1Stores } from '../helpers/old-databases';

const NAME = 'rlhf-lab-test-damaged';
const CONFIG = { task: 'sentiment', preset: 'nano', overrides: { 'ppo.klCoef': '0.05' } };
const TASK: TaskInfo = { id: 'sentiment', title: 'Positive product reviews', description: '…', trainPrompts: 600, heldoutPrompts: 160, demonstrations: 512, preferences: 0, hasGold: true };
const GOOD_METRICS = [
  { stage: 'sft', step: 0, loss: 2.5 },
  { stage: 'sft', step: 1, loss: 2.25 },
];

/** The database as version 3 of src/store/persist.ts left it after a run, with the damage seen in the field. */
async function writeDamagedVersion3(): Promise<void> {
  const db = await openDB(NAME, 3, {
    upgrade(d) {
      createVersion1Stores(d);
      d.createObjectStore('sweep');
    },
  });
  const tx = db.transaction(['config', 'metrics', 'samples', 'checkpoints', 'sweep'], 'readwrite');
  await tx.objectStore('config').put(CONFIG, 'current');
  await tx.objectStore('metrics').add(GOOD_METRICS[0]);
  await tx.objectStore('metrics').add(null);
  await tx.objectStore('metrics').add({ stage: 'sft', step: 2, loss: 'NaN' });
  await tx.objectStore('metrics').add(GOOD_METRICS[1]);
  await tx.objectStore('samples').add({ prompt: 'p', response: 'r', policy: 'sft', proxy: 1, gold: null, stage: 'eval' });
  await tx.objectStore('checkpoints').put({ name: 'sft', bytes: new Uint8Array([1, 2, 3]) });
  const column = { name: 'loss', stage: 'sft', x: new Float64Array([0, 1, 2]), y: new Float64Array([2.5]) };
  await tx.objectStore('sweep').put({ runLabel: 'β = 0', runs: [{ label: 'β = 0.2', series: [column], frontier: {} }] }, 'current');
  await tx.done;
  db.close();
}

afterEach(() => deleteDB(NAME));

describe('damaged saved data in IndexedDB', () => {
  test('opens upgraded: the good records come back, the damaged ones are skipped and counted, new ones are stamped', async () => {
    await deleteDB(NAME);
    await writeDamagedVersion3();
    const storage = await openLabStorage(NAME);
    const saved = await storage.load();
    expect(saved.config).toEqual(CONFIG);
    expect(saved.metrics).toEqual(GOOD_METRICS);
    expect(saved.samples).toEqual([{ prompt: 'p', response: 'r', policy: 'sft', proxy: 1, gold: null }]);
    expect(saved.checkpoints).toEqual([{ name: 'sft', bytes: new Uint8Array([1, 2, 3]) }]);
    expect(saved.sweep).toBeUndefined();
    expect(saved.skipped).toEqual({ damaged: { metrics: 2, sweep: 1 }, newer: {} });
    await storage.appendMetrics([{ stage: 'rm', step: 0, 'rm/loss': 0.7 }]);
    storage.close();

    // As stored: the upgrade stamped what version 3 wrote as format 3 (and left the null alone); new records carry
    // the current format.
    const raw = await openDB(NAME);
    expect(raw.version).toBe(4);
    const metrics = await raw.getAll('metrics');
    expect(metrics.map((m) => m?.[SCHEMA_KEY])).toEqual([3, undefined, 3, 3, RECORD_SCHEMA_VERSION]);
    expect((await raw.get('config', 'current'))[SCHEMA_KEY]).toBe(3);
    // A record a later version of the lab wrote is skipped, and said to be.
    await raw.add('labels', { prompt: 'P', completions: ['a', 'b'], source: 'human', [SCHEMA_KEY]: RECORD_SCHEMA_VERSION + 1 });
    raw.close();
    const again = await openLabStorage(NAME);
    expect((await again.load()).skipped).toEqual({ damaged: { metrics: 2, sweep: 1 }, newer: { labels: 1 } });
    again.close();

    // Code of version 3 cannot open it (it would show the stamp as a metric).
    await expect(openDB(NAME, 3)).rejects.toMatchObject({ name: 'VersionError' });
  });

  test('the page session restores the good records and says what was skipped; start() does not reject', async () => {
    await deleteDB(NAME);
    await writeDamagedVersion3();
    const worker: Command[] = [];
    const lab = createLabStore({ download: () => {} });
    const run = createRunStore({ schedule: () => () => {} });
    const session = createLabSession({ lab, run, worker: (c) => worker.push(c), openStorage: (events) => openLabStorage(NAME, events) });
    lab.setState({ send: session.send });
    try {
      await expect(session.start()).resolves.toBeUndefined();
      expect(lab.getState().saved).toMatchObject({ storage: 'indexeddb', skipped: '2 metric records and 1 sweep were damaged and skipped.' });
      expect(worker).toEqual([{ type: 'configure', ...CONFIG }, { type: 'restore', checkpoints: [{ name: 'sft', bytes: new Uint8Array([1, 2, 3]) }], rankings: [] }]);
      expect(lab.getState().saved.restore?.state).toBe('restoring');
      // The configuration's echo shows the saved run: the good records only (the null one used to throw here).
      session.onEvent({ type: 'pipeline-config', config: makePipelineConfig('nano', CONFIG.overrides), task: TASK, kept: [] });
      expect(run.getState().records).toEqual(GOOD_METRICS);
      expect(run.getState().stages.sft.state).toBe('done');
    } finally {
      session.dispose();
    }
  });
});
