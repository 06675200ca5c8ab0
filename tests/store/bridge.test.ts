// The bridge from worker events to the page's stores, in Node with synthetic events: a whole run lands in the run
// store (states, stages, metrics, progress, episodes, samples, summary) and the lab store (checkpoints, logs); Run
// configures first and starts only once the worker accepts; a refused configuration starts nothing; a stage re-run
// reuses the pipeline only while the form still matches it; alarms, stage errors and engine errors become messages
// (and end a run that was going); an import is detected by its first valid line, and a refused one changes nothing.
// Also: every event reaches the feedback store and the ONNX check's, and their refusals and restore's stay out of the
// pipeline's alert; a lesson runs its steps one after another (a later step skips the stages whose checkpoints the
// worker kept; a step a metric alarm ended counts as finished, the alarm its outcome), and a sweep's runs are kept
// for the charts through each configure (any other configure drops them); a stage run alone after a change of
// settings keeps the kept checkpoints' download sizes; the page's session (createLabSession, on in-memory storage)
// records a run, restores it into fresh stores and a fresh worker after a "reload", reports a refused upload, clears,
// and falls back to memory when IndexedDB cannot be opened.
import { describe, expect, test, vi } from 'vitest';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { makePipelineConfig } from '../../src/rlhf/config';
import type { Episode } from '../../src/rlhf/episode';
import { createLabStore, detectDatasetFile, type LessonStepPlan, LOG_LINES } from '../../src/store';
import { createLabSession, routeEvent } from '../../src/store/bridge';
import { createFeedbackStore } from '../../src/store/feedback';
import { createOnnxCheckStore } from '../../src/store/onnx-check';
import { createMemoryStorage, type LabStorage } from '../../src/store/persist';
import { createRunStore } from '../../src/store/run';
import { findLesson, lessonSteps } from '../../src/ui/lessons';
import type { Command, EngineEvent, PipelineCheckpointName, PipelineSummary, SampleRecord, TaskInfo } from '../../src/worker/protocol';
import { labStores, softwareAdapter } from '../helpers/lab-stores';

const TASK: TaskInfo = { id: 'sentiment', title: 'Positive product reviews', description: '…', trainPrompts: 600, heldoutPrompts: 160, demonstrations: 512, preferences: 0, hasGold: true };

const SUMMARY: PipelineSummary = {
  task: 'sentiment',
  preset: 'nano',
  seed: 1,
  labelers: { k: 4, agreement: 0.73, noise: 0.5 },
  sft: { steps: 2, final_loss: 2.5, mean_token_accuracy: 0.4 },
  rm: { heldout_accuracy: 0.6, gold_agreement: 0.7, train_accuracy: 0.8, labeler_gold_agreement: 0.72, inter_labeler_agreement: 0.61 },
  ppo: { gold_sft: 0.1, gold_ppo: 0.2, win_rate: 0.55, win_rate_ci: [0.4, 0.7], kl: 0.3 },
  bon: [],
  policies: { ppo: { gold: 0.2, win_rate: 0.55, win_ci: [0.4, 0.7], kl: 0.3, proxy: 0.5 } },
  gao_fits: {},
  seconds: 12,
  stage_seconds: { sft: 3 },
};

const EPISODE: Episode = { prompt: 'Review of the kettle:', response: ' great', score: 0.5, gold: 0.3, finished: true, tokens: [' great'], kl: [0.1], advantages: [0.2], logprobs: [-1] };

/** A lab store whose `send` records commands and whose downloads are kept; a run store that commits on flush(). */
function setup() {
  const stores = labStores();
  stores.emit({ type: 'ready', adapter: softwareAdapter() });
  return stores;
}

const accepted = (preset: 'nano' | 'tiny' = 'nano', overrides: Record<string, string> = {}, task = TASK, kept: PipelineCheckpointName[] = []): EngineEvent => ({
  type: 'pipeline-config',
  config: makePipelineConfig(preset, overrides),
  task,
  kept,
});

describe('bridge', () => {
  test('Run with DPO chosen starts the recipe with DPO in run order; the run store plans those stages', () => {
    const { lab, run, sent, emit } = setup();
    lab.getState().setPreset('nano');
    lab.getState().setMethod('dpo', true);
    expect(run.getState().plan).toEqual(['pretrain', 'sft', 'rm', 'ppo', 'bon', 'eval']); // nothing started yet
    lab.getState().runPipeline();
    emit(accepted('nano'));
    const stages = ['pretrain', 'sft', 'rm', 'ppo', 'dpo', 'bon', 'eval'];
    expect(sent.slice(1)).toEqual([{ type: 'start', stages }]);
    expect(run.getState().plan).toEqual(stages);
    // A stage started outside the plan (a stage run alone) joins it in run order.
    lab.getState().setMethod('dpo', false);
    lab.getState().runPipeline();
    emit(accepted('nano'));
    expect(sent.at(-1)).toEqual({ type: 'start' });
    expect(run.getState().plan).toEqual(['pretrain', 'sft', 'rm', 'ppo', 'bon', 'eval']);
    emit({ type: 'stage', stage: 'dpo', state: 'started' });
    expect(run.getState().plan).toEqual(stages);
  });

  test('Run configures, starts once the worker accepts, and a whole run lands in the stores', () => {
    const { lab, run, sent, emit } = setup();
    lab.getState().setPreset('nano');
    lab.getState().setField('ppo.episodes', '8');
    lab.getState().setField('ppo.batchSize', '4');
    lab.getState().runPipeline();
    expect(sent).toEqual([{ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { 'ppo.batchSize': '4', 'ppo.episodes': '8' } }]);
    expect(lab.getState().pending).toMatchObject({ purpose: 'run' });
    lab.getState().runPipeline(); // a second click while configuring sends nothing
    expect(sent).toHaveLength(1);

    emit(accepted('nano', { 'ppo.batchSize': '4', 'ppo.episodes': '8' }));
    expect(sent.slice(1)).toEqual([{ type: 'start' }]);
    expect(lab.getState().pending).toBeUndefined();
    expect(lab.getState().configured?.task).toEqual(TASK);

    const records: MetricRecord[] = [
      { stage: 'sft', step: 0, loss: 3 },
      { stage: 'sft', step: 1, loss: 2.5 },
    ];
    emit(
      { type: 'pipeline-state', state: 'running' },
      { type: 'stage', stage: 'pretrain', state: 'skipped' },
      { type: 'stage', stage: 'sft', state: 'started' },
      { type: 'pipeline-state', state: 'running', stage: 'sft' },
      { type: 'metrics', records },
      { type: 'progress', stage: 'sft', done: 2, total: 8, etaSeconds: 6 },
    );
    run.getState().flush();
    let r = run.getState();
    expect(r.state).toBe('running');
    expect(r.stage).toBe('sft');
    expect(r.stages.pretrain.state).toBe('skipped');
    expect(r.stages.sft.state).toBe('running');
    expect(r.progress.sft).toEqual({ done: 2, total: 8, etaSeconds: 6 });
    expect(r.latest.loss).toEqual({ value: 2.5, stage: 'sft', step: 1 });
    expect(r.recordCount).toBe(2);
    expect([...r.series.get('loss', 'sft').y]).toEqual([3, 2.5]);

    const samples: SampleRecord[] = [{ prompt: 'p', response: 'r', policy: 'ppo', proxy: 0.4, gold: 0.2 }];
    emit(
      { type: 'stage', stage: 'sft', state: 'done', seconds: 3 },
      { type: 'checkpoint', name: 'sft', size: 1234 },
      { type: 'stage', stage: 'ppo', state: 'started' },
      { type: 'metrics', records: [{ stage: 'ppo', step: 0, 'objective/kl': 0.04, 'objective/scores': 0.5 }] },
      { type: 'episodes', stage: 'ppo', iteration: 0, episodes: [EPISODE] },
      { type: 'samples', samples },
      { type: 'log', line: 'ppo: iteration 0' },
      { type: 'summary', summary: SUMMARY },
      { type: 'pipeline-state', state: 'done', stage: 'eval' },
    );
    r = run.getState();
    expect(r.state).toBe('done');
    expect(r.stages.sft).toEqual({ state: 'done', seconds: 3 });
    expect(r.frontier.ppo).toEqual([{ step: 0, sqrtKl: 0.2, proxy: 0.5, gold: NaN }]);
    expect(r.episodes).toEqual({ stage: 'ppo', iteration: 0, episodes: [EPISODE] });
    expect(r.samples).toEqual(samples);
    expect(r.summary).toEqual(SUMMARY);
    expect(lab.getState().checkpoints).toEqual({ sft: 1234 });
    expect(lab.getState().log).toEqual(['ppo: iteration 0']);
    expect(lab.getState().pipelineError).toBeUndefined();

    // The next accepted configuration drops the old run's results, in the worker and on the page.
    lab.getState().runPipeline();
    emit(accepted('nano', { 'ppo.batchSize': '4', 'ppo.episodes': '8' }));
    r = run.getState();
    expect([r.state, r.recordCount, r.samples, r.summary, r.episodes]).toEqual(['idle', 0, [], undefined, undefined]);
    expect(r.series.names()).toEqual([]);
    expect(lab.getState().checkpoints).toEqual({});
    expect(sent.map((c) => c.type)).toEqual(['configure', 'start', 'configure', 'start']);
  });

  test('a refused configuration starts nothing and names its fields; an invalid form is not even sent', () => {
    const { lab, run, sent, emit } = setup();
    lab.getState().runPipeline();
    emit({ type: 'error', kind: 'config', message: 'the pipeline configuration was refused: ppo.clip: must be in (0, 1], got 7', problems: [{ field: 'ppo.clip', message: 'must be in (0, 1], got 7' }] });
    expect(lab.getState().pending).toBeUndefined();
    expect(lab.getState().pipelineError).toMatchObject({ kind: 'config', problems: [{ field: 'ppo.clip' }] });
    expect(sent.map((c) => c.type)).toEqual(['configure']);
    expect(run.getState().state).toBe('idle');

    lab.getState().setField('ppo.clip', '7');
    lab.getState().runPipeline();
    expect(sent).toHaveLength(1);
    expect(lab.getState().pipelineError).toMatchObject({ kind: 'config', message: expect.stringMatching(/Fix the settings/) });
    lab.getState().dismissPipelineError();
    expect(lab.getState().pipelineError).toBeUndefined();
  });

  test('a stage runs again on the same pipeline while the form matches it, else on a freshly configured one', () => {
    const { lab, sent, emit } = setup();
    lab.getState().runPipeline();
    emit(accepted('tiny'), { type: 'pipeline-state', state: 'done', stage: 'eval' });
    sent.length = 0;
    lab.getState().runStage('ppo');
    expect(sent).toEqual([{ type: 'start', stages: ['ppo'] }]);

    emit({ type: 'checkpoint', name: 'sft', size: 10 }, { type: 'checkpoint', name: 'reward-model', size: 20 }, { type: 'checkpoint', name: 'ppo', size: 30 });
    sent.length = 0;
    lab.getState().setField('ppo.klCoef', '0.2');
    lab.getState().runStage('ppo');
    expect(sent).toEqual([{ type: 'configure', task: 'sentiment', preset: 'tiny', overrides: { 'ppo.klCoef': '0.2' } }]);
    // β changed: the worker kept SFT and the reward model, so PPO runs again alone on them.
    emit(accepted('tiny', { 'ppo.klCoef': '0.2' }, TASK, ['sft', 'reward-model']));
    expect(sent[1]).toEqual({ type: 'start', stages: ['ppo'] });
    expect(lab.getState().configured?.kept).toEqual(['sft', 'reward-model']);
    expect(lab.getState().checkpoints).toEqual({ sft: 10, 'reward-model': 20 }); // still downloadable; ppo was dropped

    // A configuration the page did not ask for (a lesson, a restore) never counts as the form's.
    emit(accepted('tiny', { 'ppo.klCoef': '0.2' }));
    sent.length = 0;
    lab.getState().runStage('ppo');
    expect(sent.map((c) => c.type)).toEqual(['configure']);
  });

  test('an alarm and a stage error fail the run with a message naming the cause; the alarm marks its stage as stopped by it', () => {
    const { lab, run, emit } = setup();
    emit({ type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'ppo', state: 'started' });
    const alarm: EngineEvent = { type: 'error', kind: 'alarm', message: 'objective/kl is 31 > 20: the policy ran away from SFT (lower ppo.lr)', metric: 'objective/kl', stage: 'ppo', step: 3 };
    emit(alarm, { type: 'summary', summary: SUMMARY }, { type: 'pipeline-state', state: 'failed', stage: 'ppo' });
    expect(lab.getState().pipelineError).toEqual(alarm);
    expect(run.getState()).toMatchObject({ state: 'failed', error: alarm.message, stages: { ppo: { state: 'alarm' } } });

    emit({ type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'rm', state: 'started' });
    emit({ type: 'error', kind: 'pipeline', message: 'rm: no rankings' }, { type: 'pipeline-state', state: 'failed', stage: 'rm' });
    expect(lab.getState().pipelineError).toEqual({ type: 'error', kind: 'pipeline', message: 'rm: no rankings' });
    expect(run.getState()).toMatchObject({ state: 'failed', error: 'rm: no rankings', stages: { rm: { state: 'failed' } } });
    // A pipeline error leaves the engine's own status alone.
    expect(lab.getState().engine.state).toBe('ready');
  });

  test('engine errors set the engine status; a lost device or a crash ends a run that was going', () => {
    const { lab, run, emit } = setup();
    emit({ type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'sft', state: 'started' });
    emit({ type: 'error', kind: 'model', message: 'No model is loaded yet.' });
    expect(lab.getState().engine).toMatchObject({ state: 'error', kind: 'model' });
    expect(run.getState().state).toBe('running');
    emit({ type: 'error', kind: 'device-lost', message: 'The GPU device was lost (unknown): gone.' });
    expect(lab.getState().engine).toMatchObject({ state: 'error', kind: 'device-lost', message: expect.stringMatching(/lost/) });
    expect(run.getState()).toMatchObject({ state: 'failed', error: expect.stringMatching(/lost/), stages: { sft: { state: 'failed' } } });

    const fresh = setup();
    fresh.emit({ type: 'error', kind: 'internal', message: 'The engine worker crashed: boom' });
    expect(fresh.lab.getState().engine).toMatchObject({ state: 'error', kind: 'internal', message: 'The engine worker crashed: boom' });
    expect(fresh.run.getState().state).toBe('idle');
  });

  test('files are downloaded, logs are capped, sampling is shown, and unmapped events go to `others`', () => {
    const { lab, downloads, others, emit } = setup();
    const bytes = new TextEncoder().encode('stage,step\n') as Uint8Array<ArrayBuffer>;
    emit({ type: 'file', name: 'rlhf-lab-metrics.csv', mime: 'text/csv', bytes });
    expect(downloads).toEqual([{ name: 'rlhf-lab-metrics.csv', mime: 'text/csv', bytes }]);
    for (let i = 0; i < LOG_LINES + 5; i++) emit({ type: 'log', line: `line ${i}` });
    expect(lab.getState().log).toHaveLength(LOG_LINES);
    expect(lab.getState().log.at(-1)).toBe(`line ${LOG_LINES + 4}`);
    emit({ type: 'sample', prompt: 'Once', text: ' upon', tokens: 10, ms: 500 });
    expect(lab.getState().sample).toEqual({ prompt: 'Once', text: ' upon', tokensPerSecond: 20 });
    const stats: EngineEvent = { type: 'labels-stats', count: 1, pairs: 1, goldAgreement: null };
    emit(stats);
    expect(others).toEqual([stats]);
  });

  test('an import is detected by its first valid line; refused, it changes nothing; accepted, it is the custom task', () => {
    const { lab, sent, emit } = setup();
    lab.getState().setPreset('nano');
    const bad = ['not json', '{"prompt": "Say hi.", "chosen": "hi", "rejected": "go away"}', '{"prompt": "Say bye.", "chosen": 3, "rejected": "no"}'].join('\n');
    lab.getState().importDataset('prefs.jsonl', bad);
    expect(sent).toEqual([{ type: 'configure', task: 'custom', preset: 'nano', overrides: {}, custom: { preferences: bad } }]);
    const formBefore = lab.getState().form;
    emit({
      type: 'error',
      kind: 'config',
      message: 'the pipeline configuration was refused: …',
      problems: [
        { field: 'custom.preferences', line: 1, message: 'not valid JSON' },
        { field: 'custom.preferences', line: 3, message: '"chosen" must be a string' },
      ],
    });
    const s = lab.getState();
    expect(s.importRefusal).toMatchObject({ name: 'prefs.jsonl', file: 'preferences', problems: [{ line: 1 }, { line: 3 }] });
    expect([s.form, s.dataset, s.configured, s.pending, s.pipelineError]).toEqual([formBefore, undefined, undefined, undefined, undefined]);

    const good = '{"prompt": "Say hi.", "completion": "hi"}\n';
    lab.getState().importDataset('sft.jsonl', good);
    expect(sent[1]).toMatchObject({ task: 'custom', custom: { sft: good } });
    emit(accepted('nano', {}, { ...TASK, id: 'custom', hasGold: false, demonstrations: 1 }));
    expect(lab.getState()).toMatchObject({ form: { task: 'custom', preset: 'nano' }, dataset: { file: 'sft', texts: { sft: good } }, importRefusal: undefined });
    expect(sent).toHaveLength(2); // an import does not start a run

    // The custom task's next run carries the dataset.
    lab.getState().runPipeline();
    expect(sent[2]).toEqual({ type: 'configure', task: 'custom', preset: 'nano', overrides: {}, custom: { sft: good } });
  });

  test('detectDatasetFile reads the TRL formats from the first line that parses', () => {
    expect(detectDatasetFile('{"prompt":"a","chosen":"b","rejected":"c"}')).toBe('preferences');
    expect(detectDatasetFile('{"chosen":"Human: a Assistant: b","rejected":"…"}')).toBe('preferences');
    expect(detectDatasetFile('\nnot json\n{"prompt":"a","completions":["b","c"]}')).toBe('preferences');
    expect(detectDatasetFile('[1]\n{"prompt":"a","completion":"b"}\n{"prompt":"x","chosen":"y","rejected":"z"}')).toBe('sft');
    expect(detectDatasetFile('{"text":"plain"}')).toBe('sft');
    expect(detectDatasetFile('{"prompt":"a"}')).toBe('prompts');
    expect(detectDatasetFile('nothing here')).toBe('preferences');
  });
});

describe('feedback and lessons through the bridge', () => {
  test('every event reaches the feedback store; feedback and restore refusals stay out of the pipeline alert', () => {
    const { lab, run, sent } = setup();
    const feedback = createFeedbackStore((c) => sent.push(c));
    const others: EngineEvent[] = [];
    const emit = (e: EngineEvent) => routeEvent(e, { lab, run, feedback, others: (x) => others.push(x) });
    emit({ type: 'label-items', items: [{ id: '1-0', prompt: 'Review:', completions: ['good', 'bad'] }], policy: 'sft' });
    expect(feedback.getState()).toMatchObject({ queue: [{ id: '1-0' }], policy: 'sft' });
    emit(accepted()); // a new configuration: its old items cannot be labelled
    expect(feedback.getState().queue).toEqual([]);

    const refusal: EngineEvent = { type: 'error', kind: 'pipeline', message: 'label-request: a run is going — wait for it to end (the GPU is busy)' };
    emit(refusal);
    expect(feedback.getState().error).toBe(refusal.message);
    const restore: EngineEvent = { type: 'error', kind: 'pipeline', message: 'restore: nothing restored — sft: not a safetensors file' };
    emit(restore);
    expect(feedback.getState().error).toBe(refusal.message); // not the feedback view's
    expect(lab.getState().pipelineError).toBeUndefined();
    expect(others.slice(1)).toEqual([refusal, restore]); // after the label-items
    emit({ type: 'error', kind: 'pipeline', message: 'rm: no rankings' });
    expect(lab.getState().pipelineError).toMatchObject({ message: 'rm: no rankings' });
  });

  test("every event reaches the ONNX check's store; its refusals stay out of the pipeline alert and the engine's state", () => {
    const { lab, run, sent } = setup();
    const onnx = createOnnxCheckStore((c) => sent.push(c), () => new Promise(() => {}));
    const emit = (e: EngineEvent) => routeEvent(e, { lab, run, onnx });
    emit({ type: 'ready', adapter: softwareAdapter() });
    onnx.getState().check('Hi');
    emit({ type: 'policy-onnx', onnx: new Uint8Array(1), tokens: [0], maxNewTokens: 2, eos: 1 });
    expect(onnx.getState().status.state).toBe('onnx-runtime');
    const refusal = 'policy-greedy: a run is going — wait for it to end (the GPU is busy)';
    emit({ type: 'error', kind: 'pipeline', message: refusal });
    expect(onnx.getState().status).toEqual({ state: 'failed', message: refusal });
    expect([lab.getState().pipelineError, lab.getState().engine.state]).toEqual([undefined, 'ready']);
  });

  test('a lesson runs its steps one after another and stops with a run that does not finish', () => {
    const { lab, sent, emit } = setup();
    const lesson = findLesson('kl-sweep')!;
    const plan: LessonStepPlan[] = lessonSteps(lesson);
    lab.getState().startLesson(lesson.id, lesson.title, plan);
    expect(sent).toEqual([{ type: 'configure', task: 'sentiment', preset: 'tiny', overrides: { 'ppo.klCoef': '0.2' } }]);
    expect(lab.getState().form).toMatchObject({ task: 'sentiment', preset: 'tiny', values: { 'ppo.klCoef': '0.2' }, lesson: 'kl-sweep' });
    // The first run runs every stage of the lesson, even ones the worker kept from an earlier run (the lesson shows them).
    emit(accepted('tiny', { 'ppo.klCoef': '0.2' }, TASK, ['sft', 'reward-model']));
    expect(sent[1]).toEqual({ type: 'start', stages: ['pretrain', 'sft', 'rm', 'ppo', 'eval'] });
    emit({ type: 'pipeline-state', state: 'idle' }, { type: 'pipeline-state', state: 'running' }, { type: 'pipeline-state', state: 'paused', stage: 'sft' });
    expect(lab.getState().lessonRun).toMatchObject({ index: 0, state: 'running', started: true });
    emit({ type: 'pipeline-state', state: 'running', stage: 'sft' }, { type: 'pipeline-state', state: 'done', stage: 'eval' });
    // Run 2 of 3: configured afresh with β = 0.05.
    expect(lab.getState().lessonRun).toMatchObject({ index: 1, state: 'running', started: false, results: [{ reused: [] }, { reused: [] }] });
    expect(sent[2]).toMatchObject({ type: 'configure', preset: 'tiny' });
    expect(lab.getState().form.values).toEqual({ 'ppo.klCoef': '0.05' });
    // A stale end (before the step's run started) does not move the lesson on.
    emit({ type: 'pipeline-state', state: 'done', stage: 'eval' });
    expect(lab.getState().lessonRun).toMatchObject({ index: 1, state: 'running' });
    emit(accepted('tiny'), { type: 'pipeline-state', state: 'running' }, { type: 'pipeline-state', state: 'stopped', stage: 'rm' });
    expect(sent[3]).toEqual({ type: 'start', stages: ['pretrain', 'sft', 'rm', 'ppo', 'eval'] }); // nothing was kept
    expect(lab.getState().lessonRun).toMatchObject({ index: 1, state: 'stopped' });
    expect(sent.map((c) => c.type)).toEqual(['configure', 'start', 'configure', 'start']);
  });

  test('a later step skips the stages the worker kept; a step a metric alarm ended still evaluates the kept policy, then counts as finished', () => {
    const { lab, run, sent, emit } = setup();
    const plan = lessonSteps(findLesson('kl-sweep')!);
    lab.getState().startLesson('kl-sweep', 'KL-coefficient sweep', plan);
    emit(accepted('tiny', { 'ppo.klCoef': '0.2' }), { type: 'pipeline-state', state: 'running' }, { type: 'pipeline-state', state: 'done', stage: 'eval' });

    // Run 2: only β changed, so the worker kept SFT and the reward model; the step runs PPO and the evaluation
    // (pretrain stays: the pipeline itself skips it when the base model is there).
    emit(accepted('tiny', { 'ppo.klCoef': '0.05' }, TASK, ['sft', 'reward-model']));
    expect(sent[3]).toEqual({ type: 'start', stages: ['pretrain', 'ppo', 'eval'] });
    expect(lab.getState().lessonRun!.results[1]).toEqual({ reused: ['sft', 'rm'] });
    // A metric alarm stops PPO: the run fails in the worker, but for the lesson it is this run's outcome; the step's
    // evaluation then runs on the policy PPO kept.
    const alarm: EngineEvent = { type: 'error', kind: 'alarm', message: 'ppo stopped at step 3: objective/kl is 63 > 50', metric: 'objective/kl', stage: 'ppo', step: 3 };
    emit({ type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'ppo', state: 'started' });
    emit(alarm, { type: 'summary', summary: SUMMARY }, { type: 'pipeline-state', state: 'failed', stage: 'ppo' });
    expect(run.getState()).toMatchObject({ state: 'failed', error: alarm.message }); // the run store still says why it stopped
    expect(lab.getState().pipelineError).toBeUndefined(); // not shown as the page's error
    expect(sent[4]).toEqual({ type: 'start', stages: ['eval'] });
    expect(lab.getState().lessonRun).toMatchObject({ index: 1, state: 'running', started: false, results: [{ reused: [] }, { reused: ['sft', 'rm'], alarm }] });
    emit({ type: 'pipeline-state', state: 'running' }, { type: 'pipeline-state', state: 'done', stage: 'eval' });
    expect(lab.getState().lessonRun).toMatchObject({ index: 2, state: 'running', started: false, results: [{ reused: [] }, { reused: ['sft', 'rm'], alarm }, { reused: [] }] });
    expect(sent[5]).toMatchObject({ type: 'configure', overrides: { 'ppo.klCoef': '0', 'ppo.episodes': '1280', 'ppo.lr': '0.0006' } });

    // Run 3 ends by an alarm in its last stage: nothing is left to run, the lesson is done with the alarm as its outcome.
    emit(accepted('tiny', { 'ppo.klCoef': '0' }, TASK, ['sft', 'reward-model']));
    expect(sent[6]).toEqual({ type: 'start', stages: ['pretrain', 'ppo', 'eval'] });
    const evalAlarm: EngineEvent = { ...alarm, message: 'eval stopped at step 0: objective/gold is NaN', metric: 'objective/gold', stage: 'eval', step: 0 };
    emit({ type: 'pipeline-state', state: 'running' }, evalAlarm, { type: 'pipeline-state', state: 'failed', stage: 'eval' });
    expect(lab.getState().lessonRun).toMatchObject({ index: 2, state: 'done', results: [{}, { alarm }, { reused: ['sft', 'rm'], alarm: evalAlarm }] });
    expect(lab.getState().pipelineError).toBeUndefined();
    expect(sent).toHaveLength(7);

    // Any other failure still ends the lesson as failed, its error shown.
    lab.getState().startLesson('kl-sweep', 'KL-coefficient sweep', plan);
    emit(accepted('tiny', { 'ppo.klCoef': '0.2' }), { type: 'pipeline-state', state: 'running' });
    emit({ type: 'error', kind: 'pipeline', message: 'rm: no rankings' }, { type: 'pipeline-state', state: 'failed', stage: 'rm' });
    expect(lab.getState().lessonRun).toMatchObject({ index: 0, state: 'failed' });
    expect(lab.getState().pipelineError).toMatchObject({ message: 'rm: no rankings' });
  });

  test('a later step whose stages were all kept is finished at once', () => {
    const { lab, sent, emit } = setup();
    const steps: LessonStepPlan[] = [
      { label: 'N = 4', task: 'sentiment', preset: 'tiny', overrides: { 'bon.maxN': 4 }, stages: ['sft', 'rm'] },
      { label: 'N = 8', task: 'sentiment', preset: 'tiny', overrides: { 'bon.maxN': 8 }, stages: ['sft', 'rm'] },
    ];
    lab.getState().startLesson('made-up', 'Made up', steps);
    emit(accepted('tiny', { 'bon.maxN': '4' }), { type: 'pipeline-state', state: 'running' }, { type: 'pipeline-state', state: 'done', stage: 'rm' });
    emit(accepted('tiny', { 'bon.maxN': '8' }, TASK, ['sft', 'reward-model', 'ppo']));
    expect(sent.map((c) => c.type)).toEqual(['configure', 'start', 'configure']);
    expect(lab.getState().lessonRun).toMatchObject({ index: 1, state: 'done', results: [{ reused: [] }, { reused: ['sft', 'rm'] }] });
  });

  test("a sweep's finished runs are kept (labelled) through each configure; a normal run or a new lesson drops them", () => {
    const { lab, run, emit } = setup();
    const plan = (id: string): LessonStepPlan[] => lessonSteps(findLesson(id)!);
    /** The step's configuration is accepted and its run logs PPO scores `scores`, then ends. */
    const runStep = (overrides: Record<string, string>, scores: number[]) => {
      emit(accepted('tiny', overrides), { type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'ppo', state: 'started' });
      emit({ type: 'metrics', records: scores.map((s, step) => ({ stage: 'ppo', step, 'objective/kl': step, 'objective/scores': s, 'objective/gold': -s })) });
      emit({ type: 'stage', stage: 'ppo', state: 'done' }, { type: 'pipeline-state', state: 'done', stage: 'eval' });
    };
    const keptScores = () => run.getState().keptRuns.map((k) => [k.label, Array.from(k.series.get('objective/scores', 'ppo').y)]);

    lab.getState().startLesson('kl-sweep', 'KL-coefficient sweep', plan('kl-sweep'));
    runStep({ 'ppo.klCoef': '0.2' }, [1, 2, 3]);
    expect(run.getState().runLabel).toBe('β = 0.2');
    expect(run.getState().keptRuns).toEqual([]);
    runStep({ 'ppo.klCoef': '0.05' }, [4, 5]);
    expect(run.getState().runLabel).toBe('β = 0.05');
    expect(keptScores()).toEqual([['β = 0.2', [1, 2, 3]]]);
    expect(run.getState().keptRuns[0].frontier.ppo.map((p) => p.gold)).toEqual([-1, -2, -3]);
    // The kept run keeps its own configuration (its policies' names come from it), not the new run's.
    expect(run.getState().keptRuns[0].config).toEqual(makePipelineConfig('tiny', { 'ppo.klCoef': '0.2' }));
    expect(lab.getState().configured?.config).toEqual(makePipelineConfig('tiny', { 'ppo.klCoef': '0.05' }));
    expect(Array.from(run.getState().series.get('objective/scores', 'ppo').y)).toEqual([4, 5]);
    runStep({ 'ppo.klCoef': '0', 'ppo.episodes': '1280', 'ppo.lr': '6e-4' }, [6]);
    expect(lab.getState().lessonRun).toMatchObject({ index: 2, state: 'done' });
    expect(run.getState().runLabel).toBe('β = 0');
    expect(keptScores()).toEqual([
      ['β = 0.2', [1, 2, 3]],
      ['β = 0.05', [4, 5]],
    ]);

    // A new sweep starts without the last one's runs.
    lab.getState().startLesson('kl-sweep', 'KL-coefficient sweep', plan('kl-sweep'));
    runStep({ 'ppo.klCoef': '0.2' }, [7]);
    expect(keptScores()).toEqual([]);
    runStep({ 'ppo.klCoef': '0.05' }, [8]);
    expect(keptScores()).toEqual([['β = 0.2', [7]]]);
    // Stopped in its third run, the sweep's runs stay on the charts until something else is configured.
    emit(accepted('tiny', { 'ppo.klCoef': '0', 'ppo.episodes': '1280', 'ppo.lr': '6e-4' }), { type: 'pipeline-state', state: 'running' }, { type: 'pipeline-state', state: 'stopped', stage: 'sft' });
    expect(lab.getState().lessonRun).toMatchObject({ index: 2, state: 'stopped' });
    expect(keptScores()).toEqual([
      ['β = 0.2', [7]],
      ['β = 0.05', [8]],
    ]);
    // A normal run is drawn alone again.
    lab.getState().runPipeline();
    emit(accepted('tiny', { 'ppo.klCoef': '0', 'ppo.episodes': '1280', 'ppo.lr': '6e-4' }));
    expect(run.getState().keptRuns).toEqual([]);
    expect(run.getState().runLabel).toBeUndefined();
    // So is a lesson of one run.
    lab.getState().startLesson('instructgpt', 'InstructGPT pipeline', plan('instructgpt'));
    expect(lab.getState().lessonRun).toMatchObject({ id: 'instructgpt', state: 'running' });
    runStep({}, [10]);
    expect(run.getState().keptRuns).toEqual([]);
    expect(run.getState().runLabel).toBeUndefined();
  });
});

describe('the page session (saved data)', () => {
  /** One page load: fresh stores and worker on the given storage (a reload keeps only the storage). */
  function page(storage: Promise<LabStorage>, keepForm = false) {
    const worker: Command[] = [];
    const lab = createLabStore({ download: () => {} });
    const run = createRunStore({ schedule: () => () => {} });
    const feedback = createFeedbackStore((c) => lab.getState().send(c));
    const session = createLabSession({ lab, run, feedback, worker: (c) => worker.push(c), openStorage: () => storage, keepForm });
    lab.setState({ send: session.send });
    const emit = (...events: EngineEvent[]) => events.forEach((e) => session.onEvent(e));
    return { lab, run, feedback, session, worker, emit };
  }
  const sftBytes = new Uint8Array([1, 2, 3, 4, 5]) as Uint8Array<ArrayBuffer>;

  test('records a run and labels, restores them after a reload, reports a refused upload, and clears', async () => {
    const storage = createMemoryStorage();
    const first = page(Promise.resolve(storage));
    await first.session.start();
    expect(first.lab.getState().saved).toMatchObject({ storage: 'indexeddb', summary: { metrics: 0, labels: 0 } });
    first.lab.getState().setPreset('nano');
    first.lab.getState().setField('ppo.episodes', '8');
    first.lab.getState().runPipeline();
    first.emit(accepted('nano', { 'ppo.episodes': '8' }), { type: 'pipeline-state', state: 'running' }, { type: 'stage', stage: 'sft', state: 'started' });
    first.emit({ type: 'metrics', records: [{ stage: 'sft', step: 0, loss: 3 }, { stage: 'sft', step: 1, loss: 2.5 }] }, { type: 'stage', stage: 'sft', state: 'done' });
    first.emit({ type: 'checkpoint', name: 'sft', size: sftBytes.byteLength });
    expect(first.worker.at(-1)).toEqual({ type: 'checkpoint-data', name: 'sft' }); // the recorder asks for the bytes
    first.emit({ type: 'checkpoint-data', name: 'sft', bytes: sftBytes.slice() }, { type: 'pipeline-state', state: 'done', stage: 'sft' });
    first.emit({ type: 'label-items', items: [{ id: '1-0', prompt: 'Review:', completions: ['great', 'awful'] }], policy: 'sft' });
    first.feedback.getState().prefer(1);
    expect(first.worker.slice(-2)).toEqual([{ type: 'labels', labels: [{ id: '1-0', order: [1, 0] }] }, { type: 'label-request', count: 8, k: 2 }]); // then more to label
    first.emit({ type: 'labels-stats', count: 1, pairs: 1, goldAgreement: 0 });
    await vi.waitFor(() => expect(first.lab.getState().saved.summary).toEqual({ metrics: 2, samples: 0, labels: 1, checkpoints: 1, sweepRuns: 0 }));
    // A refused import does not replace the saved configuration.
    first.lab.getState().importDataset('bad.jsonl', 'not json');
    first.emit({ type: 'error', kind: 'config', message: 'refused', problems: [{ field: 'custom.preferences', line: 1, message: 'not valid JSON' }] });
    await first.session.flushed();
    expect((await storage.load()).config).toEqual({ task: 'sentiment', preset: 'nano', overrides: { 'ppo.episodes': '8' } });

    // Reload: the URL names no configuration, so the form becomes the saved one, and the worker gets it back.
    const second = page(Promise.resolve(storage));
    await second.session.start();
    const configure = { type: 'configure', task: 'sentiment', preset: 'nano', overrides: { 'ppo.episodes': '8' } };
    expect(second.worker).toEqual([configure, { type: 'restore', checkpoints: [{ name: 'sft', bytes: sftBytes }], rankings: [{ prompt: 'Review:', completions: ['awful', 'great'], source: 'human' }] }]);
    expect(second.lab.getState().form).toMatchObject({ preset: 'nano', values: { 'ppo.episodes': '8' } });
    expect(second.lab.getState().saved.restore).toMatchObject({ state: 'restoring' });
    second.emit(accepted('nano', { 'ppo.episodes': '8' }), { type: 'pipeline-state', state: 'idle' });
    const r = second.run.getState();
    expect([r.recordCount, r.latest.loss?.value, r.stages.sft.state, r.stages.rm.state]).toEqual([2, 2.5, 'done', 'pending']);
    second.emit({ type: 'restored', checkpoints: ['sft'], rankings: 1 }, { type: 'labels-stats', count: 1, pairs: 1, goldAgreement: 0 });
    expect(second.lab.getState().checkpoints).toEqual({ sft: sftBytes.byteLength });
    expect(second.lab.getState().saved.restore).toEqual({ state: 'restored', message: 'Restored your saved run: 2 metric records, 0 samples, 1 labels; checkpoints loaded: sft.' });
    expect(second.feedback.getState().stats).toEqual({ count: 1, pairs: 1, goldAgreement: 0 });
    // The restored configuration is the form's: a stage runs on it (with the restored weights), not on a new one.
    second.lab.getState().runStage('rm');
    expect(second.worker.at(-1)).toEqual({ type: 'start', stages: ['rm'] });
    // The restore's own events were not saved twice.
    expect((await storage.load()).metrics).toHaveLength(2);

    // An upload the worker refuses: its message, in the saved-data view (not the pipeline's alert).
    second.emit({ type: 'pipeline-state', state: 'running' }, { type: 'pipeline-state', state: 'done', stage: 'rm' });
    second.lab.getState().uploadCheckpoint('ppo', new Uint8Array([9, 9]));
    expect(second.worker.at(-1)).toEqual({ type: 'restore', checkpoints: [{ name: 'ppo', bytes: new Uint8Array([9, 9]) }] });
    second.emit({ type: 'error', kind: 'pipeline', message: 'restore: nothing restored — ppo: not a safetensors file' });
    expect(second.lab.getState().saved.upload).toEqual({ state: 'failed', message: 'restore: nothing restored — ppo: not a safetensors file' });
    expect(second.lab.getState().pipelineError).toBeUndefined();
    expect(second.lab.getState().checkpoints).toEqual({ sft: sftBytes.byteLength });

    await second.session.clear();
    expect(await storage.load()).toEqual({ config: undefined, metrics: [], samples: [], labels: [], checkpoints: [] });
    expect(second.lab.getState().saved.summary).toEqual({ metrics: 0, samples: 0, labels: 0, checkpoints: 0, sweepRuns: 0 });
    const third = page(Promise.resolve(storage));
    await third.session.start();
    expect(third.worker).toEqual([]);
    expect(third.lab.getState().saved.restore).toBeUndefined();
  });

  test('a URL configuration keeps the form; without IndexedDB the page records in memory and says so', async () => {
    const storage = createMemoryStorage();
    await storage.saveConfig({ task: 'sentiment', preset: 'nano', overrides: {} });
    const p = page(Promise.resolve(storage), true);
    p.lab.getState().setPreset('tiny');
    await p.session.start();
    expect(p.worker.map((c) => c.type)).toEqual(['configure']);
    expect(p.lab.getState().form.preset).toBe('tiny');
    p.emit(accepted('nano'));
    p.lab.getState().runStage('sft');
    expect(p.worker.at(-1)).toMatchObject({ type: 'configure', preset: 'tiny' }); // the form is not the restored run

    const offline = page(Promise.reject(new Error('SecurityError: the operation is insecure')));
    offline.session.send({ type: 'init' }); // before the storage: recorded once it is there
    await offline.session.start();
    expect(offline.lab.getState().saved).toMatchObject({ storage: 'memory', note: expect.stringMatching(/IndexedDB is unavailable here \(SecurityError.*kept in memory only/) });
    offline.lab.getState().runPipeline();
    offline.emit(accepted('tiny'), { type: 'metrics', records: [{ stage: 'sft', step: 0, loss: 1 }] }, { type: 'pipeline-state', state: 'done' });
    await vi.waitFor(() => expect(offline.lab.getState().saved.summary).toMatchObject({ metrics: 1 }));
    expect(offline.run.getState().recordCount).toBe(1);
  });
});
