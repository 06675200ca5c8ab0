// The persistence logic in Node, on the in-memory storage (IndexedDB itself is tested in Chromium,
// tests/browser/persist.test.ts): the recorder saves the configuration, metrics, samples, human labels (rebuilt from
// label-items + labels) and checkpoint bytes (asked for on each checkpoint event); a stage run again replaces that
// stage's records; a new configuration drops the run; restoreCommands/savedEvents give back what the worker and the
// run store need; a failed write is reported and later writes still happen.
import { describe, expect, test } from 'vitest';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { createMemoryStorage, createPersistenceRecorder, type LabStorage, restoreCommands, savedEvents } from '../../src/store/persist';
import type { Command, SampleRecord } from '../../src/worker/protocol';

const metric = (stage: MetricRecord['stage'], step: number, loss: number): MetricRecord => ({ stage, step, loss });
const sample = (policy: string, response: string): SampleRecord => ({ prompt: 'p', response, policy, proxy: 0.5, gold: null });

describe('persistence recorder', () => {
  test('saves what passes between the page and the worker, and restores it', async () => {
    const storage = createMemoryStorage();
    const sent: Command[] = [];
    const rec = createPersistenceRecorder(storage, (c) => sent.push(c));
    const configure: Command = { type: 'configure', task: 'sentiment', preset: 'nano', overrides: { 'ppo.klCoef': 0 } };
    rec.command(configure);
    rec.event({ type: 'pipeline-config', config: {} as never, task: {} as never, kept: [] });
    rec.event({ type: 'stage', stage: 'sft', state: 'started' });
    rec.event({ type: 'metrics', records: [metric('sft', 0, 2), metric('sft', 1, 1.5)] });
    rec.event({ type: 'stage', stage: 'rm', state: 'started' });
    rec.event({ type: 'metrics', records: [{ stage: 'rm', step: 0, 'rm/loss': 0.69 }] });
    rec.event({ type: 'samples', samples: [sample('bon-4', 'x'), sample('sft', 'y'), sample('ppo', 'z')] });
    // The rm stage again: its records are replaced, the SFT ones stay.
    rec.event({ type: 'stage', stage: 'rm', state: 'started' });
    rec.event({ type: 'metrics', records: [{ stage: 'rm', step: 0, 'rm/loss': 0.6 }] });
    rec.event({ type: 'stage', stage: 'bon', state: 'started' });

    rec.event({ type: 'checkpoint', name: 'sft', size: 3 });
    expect(sent).toEqual([{ type: 'checkpoint-data', name: 'sft' }]);
    rec.event({ type: 'checkpoint-data', name: 'sft', bytes: new Uint8Array([1, 2, 3]) });
    rec.event({ type: 'checkpoint-data', name: 'base', bytes: new Uint8Array([9]) });

    rec.event({ type: 'label-items', policy: 'sft', items: [{ id: 'a', prompt: 'P', completions: ['good', 'bad'] }, { id: 'b', prompt: 'Q', completions: ['u', 'v', 'w'] }] });
    rec.command({ type: 'labels', labels: [{ id: 'a', order: [1, 0] }, { id: 'zzz', order: [0, 1] }] });
    rec.command({ type: 'labels', labels: [{ id: 'b', order: [2, 0, 1] }] });
    await rec.flushed();

    const saved = await storage.load();
    expect(saved.config).toEqual({ task: 'sentiment', preset: 'nano', overrides: { 'ppo.klCoef': 0 } });
    expect(saved.metrics).toEqual([metric('sft', 0, 2), metric('sft', 1, 1.5), { stage: 'rm', step: 0, 'rm/loss': 0.6 }]);
    expect(saved.samples).toEqual([sample('sft', 'y'), sample('ppo', 'z')]); // best-of-N ran again
    expect(saved.checkpoints).toEqual([{ name: 'base', bytes: new Uint8Array([9]) }, { name: 'sft', bytes: new Uint8Array([1, 2, 3]) }]);
    expect(saved.labels).toEqual([
      { prompt: 'P', completions: ['bad', 'good'], source: 'human' },
      { prompt: 'Q', completions: ['w', 'u', 'v'], source: 'human' },
    ]);

    expect(restoreCommands(saved)).toEqual([configure, { type: 'restore', checkpoints: saved.checkpoints, rankings: saved.labels }]);
    expect(savedEvents(saved)).toEqual([
      { type: 'metrics', records: saved.metrics },
      { type: 'samples', samples: saved.samples },
    ]);

    // Resuming after a reload: a fresh recorder sends configure + restore, and the configuration's echo keeps the
    // saved run (it is the restored one).
    const resent: Command[] = [];
    const again = createPersistenceRecorder(storage, (c) => resent.push(c));
    again.resume(saved);
    expect(resent).toEqual(restoreCommands(saved));
    again.event({ type: 'pipeline-config', config: {} as never, task: {} as never, kept: [] });
    await again.flushed();
    expect(await storage.load()).toEqual(saved);
    // A refused resume does not spare the next configuration's run.
    again.resume(saved);
    again.event({ type: 'error', kind: 'config', message: 'refused', problems: [] });
    again.event({ type: 'pipeline-config', config: {} as never, task: {} as never, kept: [] });
    await again.flushed();
    expect((await storage.load()).metrics).toEqual([]);
    await storage.appendMetrics(saved.metrics);
    await storage.appendSamples(saved.samples);
    for (const c of saved.checkpoints) await storage.saveCheckpoint(c.name, c.bytes);
    expect(await storage.load()).toEqual(saved);

    // A new configuration drops the run (metrics, samples, checkpoints) but keeps the labels; clear-labels drops them.
    rec.event({ type: 'pipeline-config', config: {} as never, task: {} as never, kept: [] });
    await rec.flushed();
    expect(await storage.load()).toMatchObject({ metrics: [], samples: [], checkpoints: [], labels: saved.labels });
    rec.command({ type: 'clear-labels' });
    await rec.flushed();
    expect((await storage.load()).labels).toEqual([]);

    await storage.clear();
    const empty = await storage.load();
    expect(empty).toEqual({ config: undefined, metrics: [], samples: [], labels: [], checkpoints: [] });
    expect(restoreCommands(empty)).toEqual([]);
    expect(savedEvents(empty)).toEqual([]);
  });

  test('a failed write is reported and the writes after it still happen', async () => {
    const storage: LabStorage = { ...createMemoryStorage(), appendSamples: async () => Promise.reject(new Error('quota exceeded')) };
    const errors: unknown[] = [];
    const rec = createPersistenceRecorder(storage, () => {}, (e) => errors.push(e));
    rec.event({ type: 'samples', samples: [sample('sft', 'y')] });
    rec.event({ type: 'metrics', records: [metric('sft', 0, 1)] });
    await rec.flushed();
    expect(errors.map((e) => (e as Error).message)).toEqual(['quota exceeded']);
    expect((await storage.load()).metrics).toEqual([metric('sft', 0, 1)]);
  });
});
