// The persistence logic in Node, on the in-memory storage (IndexedDB itself is tested in Chromium,
// tests/browser/persist.test.ts): the recorder saves the configuration, metrics, samples, human labels (rebuilt from
// label-items + labels) and checkpoint bytes (asked for on each checkpoint event); a stage run again replaces that
// stage's records; a new configuration drops the run but for the checkpoints the worker kept; restoreCommands/
// savedEvents give back what the worker and the run store need; a failed write is reported and later writes still
// happen; a sweep (the run store's kept runs and label) is saved, replaced and removed.
import { describe, expect, test } from 'vitest';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { createMemoryStorage, createPersistenceRecorder, type LabStorage, restoreCommands, type SavedSweep, savedEvents } from '../../src/store/persist';
import { MetricSeries } from '../../src/store/run';
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

  test('a new configuration keeps the checkpoints the worker kept (its pipeline-config `kept`) and drops the others', async () => {
    const storage = createMemoryStorage();
    const rec = createPersistenceRecorder(storage, () => {});
    rec.command({ type: 'configure', task: 'sentiment', preset: 'tiny', overrides: { 'ppo.klCoef': '0.2' } });
    rec.event({ type: 'pipeline-config', config: {} as never, task: {} as never, kept: [] });
    rec.event({ type: 'metrics', records: [metric('ppo', 0, 1)] });
    for (const [i, name] of (['base', 'sft', 'reward-model', 'ppo'] as const).entries()) rec.event({ type: 'checkpoint-data', name, bytes: new Uint8Array([i]) });
    await rec.flushed();
    expect((await storage.load()).checkpoints.map((c) => c.name)).toEqual(['base', 'sft', 'reward-model', 'ppo']);

    rec.command({ type: 'configure', task: 'sentiment', preset: 'tiny', overrides: { 'ppo.klCoef': '0.05' } });
    rec.event({ type: 'pipeline-config', config: {} as never, task: {} as never, kept: ['base', 'sft'] });
    await rec.flushed();
    const saved = await storage.load();
    expect(saved.checkpoints).toEqual([
      { name: 'base', bytes: new Uint8Array([0]) },
      { name: 'sft', bytes: new Uint8Array([1]) },
    ]);
    expect(saved.metrics).toEqual([]);
    expect(saved.config).toEqual({ task: 'sentiment', preset: 'tiny', overrides: { 'ppo.klCoef': '0.05' } });
  });

  test('a configuration the worker refused is never saved: the one it accepts next is', async () => {
    const storage = createMemoryStorage();
    const rec = createPersistenceRecorder(storage, () => {});
    const configure = (klCoef: string): Command => ({ type: 'configure', task: 'sentiment', preset: 'tiny', overrides: { 'ppo.klCoef': klCoef } });
    const accepted = () => rec.event({ type: 'pipeline-config', config: {} as never, task: {} as never, kept: [] });
    rec.command(configure('0.2'));
    accepted();
    // Refused as a configuration error, then as the pipeline's: neither takes the place of the next accepted one.
    rec.command(configure('-1'));
    rec.event({ type: 'error', kind: 'config', message: 'refused', problems: [] });
    rec.command(configure('x'));
    rec.event({ type: 'error', kind: 'pipeline', message: 'configure: the file has no prompts' });
    rec.command(configure('0.05'));
    accepted();
    await rec.flushed();
    expect((await storage.load()).config).toEqual({ task: 'sentiment', preset: 'tiny', overrides: { 'ppo.klCoef': '0.05' } });
  });

  test('labels saved without any checkpoint are restored too', () => {
    const labels = [{ prompt: 'P', completions: ['good', 'bad'], source: 'human' as const }];
    expect(restoreCommands({ config: undefined, metrics: [], samples: [], labels, checkpoints: [] })).toEqual([{ type: 'restore', checkpoints: [], rankings: labels }]);
  });

  test('the sweep: saved through the recorder, loaded back equal (typed arrays, NaN gold), replaced, removed when empty', async () => {
    const storage = createMemoryStorage();
    const rec = createPersistenceRecorder(storage, () => {});
    const series = new MetricSeries();
    for (let i = 0; i < 70; i++) series.pushRecord({ stage: 'ppo', step: i, 'objective/scores': i / 10, ...(i < 5 ? { loss: i } : {}) });
    series.push('loss', 'sft', 0, 2.5);
    const sweep: SavedSweep = {
      runLabel: 'β = 0.05',
      runs: [{ label: 'β = 0.2', series: series.toColumns(), frontier: { ppo: [{ step: 0, sqrtKl: 0.1, proxy: 0.5, gold: NaN }], bon: [{ step: 4, sqrtKl: 1, proxy: 1, gold: 0.25 }] } }],
    };
    rec.sweep(sweep);
    await rec.flushed();
    const loaded = (await storage.load()).sweep!;
    expect(loaded).toEqual(sweep);
    expect(loaded.runs[0].series[0].x).toBeInstanceOf(Float64Array);
    expect(loaded.runs[0].series[0].x).not.toBe(sweep.runs[0].series[0].x); // a copy, as IndexedDB keeps
    expect(Number.isNaN(loaded.runs[0].frontier.ppo[0].gold)).toBe(true);

    // The sweep stays through a new configuration (the session saves the run store's next state).
    rec.event({ type: 'pipeline-config', config: {} as never, task: {} as never, kept: [] });
    await rec.flushed();
    expect((await storage.load()).sweep).toEqual(sweep);
    rec.sweep({ runLabel: 'β = 0.05', runs: [] }); // Clear earlier runs
    await rec.flushed();
    expect((await storage.load()).sweep).toEqual({ runLabel: 'β = 0.05', runs: [] });
    rec.sweep({ runLabel: undefined, runs: [] }); // a normal run
    await rec.flushed();
    expect((await storage.load()).sweep).toBeUndefined();
    rec.sweep(sweep);
    await rec.flushed();
    await storage.clear();
    expect((await storage.load()).sweep).toBeUndefined();
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
