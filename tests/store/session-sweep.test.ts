// A sweep survives a reload, in Node: the page's session (createLabSession on in-memory storage, a fake worker)
// runs two runs of a sweep from synthetic events; a new session on the same storage ("reload") gives the run store
// back the first run (label, points, frontier) as kept and the second's label, and the worker the checkpoints the
// second configuration kept. What was restored is not written back; Clear earlier runs and a normal run are saved
// too, so the next reload shows what the page showed.
import { describe, expect, test } from 'vitest';
import { makePipelineConfig } from '../../src/rlhf/config';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { createLabStore, type LessonStepPlan } from '../../src/store';
import { createLabSession } from '../../src/store/bridge';
import { createMemoryStorage, type LabStorage, type SavedSweep } from '../../src/store/persist';
import { createRunStore } from '../../src/store/run';
import type { Command, EngineEvent, PipelineCheckpointName, TaskInfo } from '../../src/worker/protocol';

const TASK: TaskInfo = { id: 'sentiment', title: 'Positive product reviews', description: '…', trainPrompts: 600, heldoutPrompts: 160, demonstrations: 512, preferences: 0, hasGold: true };

const step = (label: string, klCoef: string): LessonStepPlan => ({ label, task: 'sentiment', preset: 'tiny', overrides: { 'ppo.klCoef': klCoef }, stages: ['sft', 'rm', 'ppo'] });
const SWEEP = [step('β = 0.2', '0.2'), step('β = 0', '0')];

const accepted = (overrides: Record<string, string>, kept: PipelineCheckpointName[] = []): EngineEvent => ({ type: 'pipeline-config', config: makePipelineConfig('tiny', overrides), task: TASK, kept });

/** PPO records whose proxy scores are `scores` (KL = step, gold = −score). */
const ppoRecords = (scores: number[]): MetricRecord[] => scores.map((s, i) => ({ stage: 'ppo', step: i, 'objective/kl': i, 'objective/scores': s, 'objective/gold': -s }));

/** One page load on `storage`: fresh stores, worker and session (a reload keeps only the storage). */
async function page(storage: LabStorage) {
  const worker: Command[] = [];
  const lab = createLabStore({ download: () => {} });
  const run = createRunStore({ schedule: () => () => {} });
  const session = createLabSession({ lab, run, worker: (c) => worker.push(c), openStorage: async () => storage });
  lab.setState({ send: session.send });
  const emit = (...events: EngineEvent[]) => events.forEach((e) => session.onEvent(e));
  await session.start();
  return { lab, run, session, worker, emit };
}

/** The run store's kept runs as [label, PPO proxy scores, frontier golds]. */
const keptRuns = (p: Awaited<ReturnType<typeof page>>) =>
  p.run.getState().keptRuns.map((k) => [k.label, Array.from(k.series.get('objective/scores', 'ppo').y), k.frontier.ppo.map((f) => f.gold)]);

describe('a sweep across a reload', () => {
  test('the kept runs and the run label come back; Clear earlier runs and a normal run are saved as well', async () => {
    const memory = createMemoryStorage();
    const sweepsSaved: SavedSweep[] = [];
    const storage: LabStorage = { ...memory, saveSweep: (s) => (sweepsSaved.push(s), memory.saveSweep(s)) };

    const first = await page(storage);
    first.lab.getState().startLesson('kl-sweep', 'KL-coefficient sweep', SWEEP);
    first.emit(accepted({ 'ppo.klCoef': '0.2' }), { type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'ppo', state: 'started' });
    first.emit({ type: 'metrics', records: ppoRecords([1, 2, 3]) }, { type: 'stage', stage: 'ppo', state: 'done' });
    for (const [i, name] of (['base', 'sft', 'reward-model', 'ppo'] as const).entries()) first.emit({ type: 'checkpoint-data', name, bytes: new Uint8Array([i]) });
    first.emit({ type: 'pipeline-state', state: 'done', stage: 'ppo' });
    // The second run: β changed, so the worker kept base, SFT and the reward model; the page reloads during its PPO.
    expect(first.worker.at(-1)).toMatchObject({ type: 'configure', overrides: { 'ppo.klCoef': '0' } });
    first.emit(accepted({ 'ppo.klCoef': '0' }, ['base', 'sft', 'reward-model']), { type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'ppo', state: 'started' });
    first.emit({ type: 'metrics', records: ppoRecords([4, 5]) });
    expect(keptRuns(first)).toEqual([['β = 0.2', [1, 2, 3], [-1, -2, -3]]]);
    await first.session.flushed();
    expect(sweepsSaved.map((s) => [s.runLabel, s.runs.map((r) => r.label)])).toEqual([
      ['β = 0.2', []],
      ['β = 0', ['β = 0.2']],
    ]);

    const second = await page(storage);
    expect(second.worker[1]).toMatchObject({ type: 'restore', checkpoints: [{ name: 'base' }, { name: 'sft' }, { name: 'reward-model' }] });
    second.emit(accepted({ 'ppo.klCoef': '0' }), { type: 'pipeline-state', state: 'idle' });
    expect(second.run.getState().runLabel).toBe('β = 0');
    expect(keptRuns(second)).toEqual([['β = 0.2', [1, 2, 3], [-1, -2, -3]]]);
    // With the configuration it ran under (its policies' names come from it).
    expect(second.run.getState().keptRuns[0].config).toEqual(makePipelineConfig('tiny', { 'ppo.klCoef': '0.2' }));
    expect(Array.from(second.run.getState().series.get('objective/scores', 'ppo').y)).toEqual([4, 5]); // the current run's saved metrics
    await second.session.flushed();
    expect(sweepsSaved).toHaveLength(2); // what was restored is not written back

    second.run.getState().clearKeptRuns();
    await second.session.flushed();
    const third = await page(storage);
    third.emit(accepted({ 'ppo.klCoef': '0' }));
    expect([third.run.getState().runLabel, third.run.getState().keptRuns]).toEqual(['β = 0', []]);

    // A normal run is drawn alone, and so it comes back after a reload.
    third.lab.getState().runPipeline();
    third.emit(accepted({ 'ppo.klCoef': '0' }));
    expect(third.run.getState().runLabel).toBeUndefined();
    await third.session.flushed();
    expect((await storage.load()).sweep).toBeUndefined();
    const fourth = await page(storage);
    fourth.emit(accepted({ 'ppo.klCoef': '0' }));
    expect([fourth.run.getState().runLabel, fourth.run.getState().keptRuns]).toEqual([undefined, []]);
  });

  test('a page that configured something of its own before the storage opened replaces the saved sweep with its own', async () => {
    const storage = createMemoryStorage();
    await storage.saveConfig({ task: 'sentiment', preset: 'tiny', overrides: {} });
    await storage.saveSweep({ runLabel: 'β = 0', runs: [] });
    const worker: Command[] = [];
    const lab = createLabStore({ download: () => {} });
    const run = createRunStore({ schedule: () => () => {} });
    const session = createLabSession({ lab, run, worker: (c) => worker.push(c), openStorage: async () => storage });
    lab.setState({ send: session.send });
    lab.getState().runPipeline();
    await session.start();
    expect(worker.map((c) => c.type)).toEqual(['configure']); // nothing restored
    await session.flushed();
    expect((await storage.load()).sweep).toBeUndefined();
  });
});
