// Restart engine, page side, in Node with a fake worker: after the worker crashed mid-run (the client's 'internal'
// error), the session's restart forgets the dead worker's pipeline in the stores (the engine is starting again, no
// configuration, no checkpoints), sends the saved session to the new worker after its init (configure, then restore
// with the saved checkpoints), refills the charts from the saved metrics with the cut-short stage pending, says what
// came back, and records afresh: a configure the dead worker never answered is not mistaken for a later one's. A
// lesson going when the engine is restarted has failed (its run died with the worker).
import { describe, expect, test } from 'vitest';
import { makePipelineConfig } from '../../src/rlhf/config';
import { createLabStore, type LessonStepPlan } from '../../src/store';
import { createLabSession } from '../../src/store/bridge';
import { createFeedbackStore } from '../../src/store/feedback';
import { createMemoryStorage } from '../../src/store/persist';
import { createRunStore } from '../../src/store/run';
import type { Command, EngineEvent, TaskInfo } from '../../src/worker/protocol';
import { labStores, softwareAdapter } from '../helpers/lab-stores';

const TASK: TaskInfo = { id: 'sentiment', title: 'Positive product reviews', description: '…', trainPrompts: 600, heldoutPrompts: 160, demonstrations: 512, preferences: 0, hasGold: true };
const accepted = (overrides: Record<string, string> = {}): EngineEvent => ({ type: 'pipeline-config', config: makePipelineConfig('nano', overrides), task: TASK, kept: [] });
const CRASH: EngineEvent = { type: 'error', kind: 'internal', message: 'The engine worker crashed: Uncaught Error: boom.' };

describe('Restart engine', () => {
  test('after a crash mid-run, the new worker gets the saved session back and the page is as it was saved', async () => {
    const storage = createMemoryStorage();
    const worker: Command[] = [];
    const lab = createLabStore({ download: () => {} });
    const run = createRunStore({ schedule: () => () => {} });
    const feedback = createFeedbackStore((c) => lab.getState().send(c));
    const session = createLabSession({ lab, run, feedback, worker: (c) => worker.push(c), openStorage: async () => storage });
    lab.setState({ send: session.send });
    const emit = (...events: EngineEvent[]) => events.forEach((e) => session.onEvent(e));
    await session.start();

    // A run: SFT finishes (its checkpoint saved), then the worker crashes while the reward model trains.
    const sftBytes = new Uint8Array([1, 2, 3, 4, 5]) as Uint8Array<ArrayBuffer>;
    emit({ type: 'ready', adapter: softwareAdapter('first') });
    lab.getState().setPreset('nano');
    lab.getState().runPipeline();
    emit(accepted(), { type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'sft', state: 'started' });
    emit({ type: 'metrics', records: [{ stage: 'sft', step: 0, loss: 3 }, { stage: 'sft', step: 1, loss: 2.5 }] }, { type: 'stage', stage: 'sft', state: 'done' });
    emit({ type: 'checkpoint', name: 'sft', size: sftBytes.byteLength }, { type: 'checkpoint-data', name: 'sft', bytes: sftBytes.slice() });
    emit({ type: 'stage', stage: 'rm', state: 'started' });
    // An import the dead worker will never answer.
    lab.getState().importDataset('prefs.jsonl', '{"prompt": "p", "chosen": "a", "rejected": "b"}');
    emit(CRASH);
    expect(run.getState()).toMatchObject({ state: 'failed', stages: { rm: { state: 'failed' } } });
    expect(lab.getState().engine).toMatchObject({ state: 'error', kind: 'internal' });

    // Restart engine, as the page does it: the stores are reset at once, then the new worker's init goes out.
    const restarted = session.restart();
    expect(lab.getState()).toMatchObject({ engine: { state: 'starting' }, configured: undefined, pending: undefined, checkpoints: {} });
    const mark = worker.length;
    session.send({ type: 'init' });
    await restarted;
    expect(worker.slice(mark)).toEqual([
      { type: 'init' },
      { type: 'configure', task: 'sentiment', preset: 'nano', overrides: {} },
      { type: 'restore', checkpoints: [{ name: 'sft', bytes: sftBytes }], rankings: [] },
    ]);
    expect(lab.getState().saved.restore).toMatchObject({ state: 'restoring' });

    // The new worker answers: the saved run is shown again (the stage the crash cut short is pending) and usable.
    emit({ type: 'ready', adapter: softwareAdapter('second') }, accepted(), { type: 'pipeline-state', state: 'idle' }, { type: 'restored', checkpoints: ['sft'], rankings: 0 });
    const r = run.getState();
    expect([r.state, r.recordCount, r.latest.loss?.value, r.stages.sft.state, r.stages.rm.state]).toEqual(['idle', 2, 2.5, 'done', 'pending']);
    expect(lab.getState().engine).toMatchObject({ state: 'ready' });
    expect(lab.getState().checkpoints).toEqual({ sft: sftBytes.byteLength });
    expect(lab.getState().saved.restore).toEqual({ state: 'restored', message: 'Restored your saved run: 2 metric records, 0 samples, 0 labels; checkpoints loaded: sft.' });
    lab.getState().runStage('rm');
    expect(worker.at(-1)).toEqual({ type: 'start', stages: ['rm'] });

    // Recorded afresh: the next accepted configuration is saved as this one, not as the import the dead worker dropped.
    emit({ type: 'pipeline-state', state: 'running' }, { type: 'pipeline-state', state: 'done', stage: 'rm' });
    lab.getState().setField('ppo.episodes', '24');
    lab.getState().runPipeline();
    emit(accepted({ 'ppo.episodes': '24' }));
    await session.flushed();
    expect((await storage.load()).config).toEqual({ task: 'sentiment', preset: 'nano', overrides: { 'ppo.episodes': '24' } });
  });

  test('a lesson going when the engine is restarted has failed', () => {
    const { lab, emit } = labStores();
    const step: LessonStepPlan = { label: 'β = 0.2', task: 'sentiment', preset: 'nano', overrides: {}, stages: ['sft'] };
    lab.getState().startLesson('kl-sweep', 'KL sweep', [step, { ...step, label: 'β = 0' }]);
    emit(accepted(), { type: 'pipeline-state', state: 'running' }, CRASH);
    expect(lab.getState().lessonRun).toMatchObject({ state: 'running' });
    lab.getState().onEngineRestart();
    expect(lab.getState().lessonRun).toMatchObject({ state: 'failed', index: 0 });
  });
});
