// The engine's command loop with a host that hands out stand-in runtimes (no GPU), so only what needs no kernel runs:
// refusals and their error kinds, steering with no run, configure's events, a run whose one stage is skipped (the
// base model restored from a checkpoint built here) or fails at once, a run paused at its gate that a lost device
// ends as failed, GPU commands refused while lost and CPU ones answered, and `recover` rebuilding the pipeline on a
// new device with the kept checkpoint as its weights. Handling never rejects.
import { describe, expect, test } from 'vitest';
import { STAGE_IDS } from '../../src/rlhf/stages';
import { PipelineAlarmError } from '../../src/rlhf/pipeline';
import { createEngine } from '../../src/worker/engine';
import { ConfigureError, errorEvent, ModelLoadError, PipelineCommandError, RecoverError } from '../../src/worker/errors';
import type { Command, EngineEvent } from '../../src/worker/protocol';
import { checkpointBytes, fakeRuntime, nanoModel, publicAsset, recorder, settle } from './fakes';

const NANO: Command = { type: 'configure', task: 'sentiment', preset: 'nano', overrides: { seed: 3 } };

function lab() {
  const rec = recorder();
  const made: ReturnType<typeof fakeRuntime>[] = [];
  const engine = createEngine(rec.post, {
    runtime: async () => {
      made.push(fakeRuntime(`gpu ${made.length}`));
      return made.at(-1)!.rt;
    },
    asset: publicAsset,
  });
  /** Sends `command`; the events it posted (handle must resolve, never reject). */
  const send = async (command: Command): Promise<EngineEvent[]> => {
    const from = rec.mark;
    await expect(engine.handle(command)).resolves.toBeUndefined();
    return rec.events.slice(from);
  };
  const states = (from = 0) => rec.of('pipeline-state', from).map((e) => e.state);
  return { rec, made, engine, send, states };
}

describe('the command loop', () => {
  test('without a configuration: refusals with their kinds, steering answers with the state, CPU commands answer', async () => {
    const { send } = lab();
    expect(await send({ type: 'start' })).toEqual([{ type: 'error', kind: 'pipeline', message: 'start: configure the pipeline first' }]);
    expect(await send({ type: 'pause' })).toEqual([{ type: 'pipeline-state', state: 'idle' }]);
    expect(await send({ type: 'label-request', count: 1 })).toEqual([{ type: 'error', kind: 'pipeline', message: 'label-request: configure the pipeline first' }]);
    expect(await send({ type: 'restore', checkpoints: [{ name: 'sft', bytes: new Uint8Array(1) }] })).toEqual([{ type: 'error', kind: 'pipeline', message: 'restore: configure the pipeline first' }]);
    expect(await send({ type: 'checkpoint-data', name: 'sft' })).toEqual([{ type: 'error', kind: 'pipeline', message: 'checkpoint-data: there is no sft checkpoint yet — run the sft stage first' }]);
    expect(await send({ type: 'clear-labels' })).toEqual([{ type: 'labels-stats', count: 0, pairs: 0, goldAgreement: null }]);
    expect(await send({ type: 'export', format: 'metrics-jsonl' })).toMatchObject([{ type: 'file', name: 'rlhf-lab-metrics.jsonl', bytes: new Uint8Array() }]);
    // The base model's commands before init: 'model'; an unknown command: the pipeline's.
    expect(await send({ type: 'generate', prompt: 'x', maxNewTokens: 1, temperature: 0, seed: 1 })).toEqual([{ type: 'error', kind: 'model', message: 'No model is loaded yet.' }]);
    expect(await send({ type: 'export', format: 'onnx' })).toEqual([{ type: 'error', kind: 'model', message: 'No model is loaded yet.' }]);
    expect(await send({ type: 'bogus' } as unknown as Command)).toEqual([{ type: 'error', kind: 'pipeline', message: 'unknown command "bogus"' }]);
  });

  test("configure echoes the configuration and goes idle; a refused one changes nothing; start's refusals", async () => {
    const { send } = lab();
    const accepted = await send(NANO);
    expect(accepted).toMatchObject([
      { type: 'pipeline-config', config: { preset: 'nano', seed: 3 }, task: { id: 'sentiment', hasGold: true }, kept: [] },
      { type: 'pipeline-state', state: 'idle' },
    ]);
    expect(await send({ ...NANO, overrides: { seed: -1 } })).toMatchObject([{ type: 'error', kind: 'config', problems: [{ field: 'seed' }] }]);
    expect(await send({ type: 'start', stages: ['nope' as never] })).toEqual([{ type: 'error', kind: 'pipeline', message: `start: unknown stage nope (stages: ${STAGE_IDS.join(', ')})` }]);
    expect(await send({ type: 'start', stages: [] })).toEqual([{ type: 'error', kind: 'pipeline', message: 'start: no stages given' }]);
    expect(await send({ type: 'start', humanLabels: 'both' as never })).toEqual([{ type: 'error', kind: 'pipeline', message: `start: humanLabels must be 'replace', 'merge', true or false, got "both"` }]);
    expect(await send({ type: 'start', stages: ['rm'], humanLabels: true })).toEqual([
      { type: 'error', kind: 'pipeline', message: 'start: the reward model needs at least 2 of your labels to train on them alone, you have 0 — label more' },
    ]);
  });

  test('runs on a restored base model: a skipped stage, a failing one; a loss ends a paused run; recover rebuilds on the kept checkpoint', async () => {
    const { send, rec, made, engine, states } = lab();
    await send(NANO);
    const base = checkpointBytes(await nanoModel(), 0.1);
    expect(await send({ type: 'restore', checkpoints: [{ name: 'base', bytes: base }] })).toEqual([
      { type: 'restored', checkpoints: ['base'], rankings: 0 },
      { type: 'labels-stats', count: 0, pairs: 0, goldAgreement: null },
    ]);

    // The base model is there, so pretraining is skipped: no kernel runs.
    const skipped = await send({ type: 'start', stages: ['pretrain'] });
    expect(skipped.map((e) => (e.type === 'pipeline-state' ? `${e.state} ${e.stage ?? ''}` : e.type === 'stage' ? `${e.stage} ${e.state}` : e.type))).toEqual(['running ', 'pretrain skipped', 'summary', 'done pretrain']);
    // PPO without an SFT model fails at once: one pipeline error, then 'failed'.
    const failed = await send({ type: 'start', stages: ['ppo'] });
    expect(failed.filter((e) => e.type === 'error')).toEqual([{ type: 'error', kind: 'pipeline', message: 'PPO needs the sft checkpoint: run the earlier stages first' }]);
    expect(failed.at(-1)).toEqual({ type: 'pipeline-state', state: 'failed', stage: 'ppo' });

    // Paused at the gate before its stage, the run ends as failed when the device goes.
    let from = rec.mark;
    const run = engine.handle({ type: 'start', stages: ['pretrain'] });
    await send({ type: 'pause' });
    await settle();
    expect(states(from)).toEqual(['running', 'paused']);
    made[0].lose('destroyed');
    await run;
    expect(states(from)).toEqual(['running', 'paused', 'failed']);
    const lost = 'The GPU device was lost (destroyed): reset. Recreate the device and resume from saved state.';
    expect(rec.of('error', from)).toEqual([{ type: 'error', kind: 'device-lost', message: lost }]);

    // While lost the GPU commands are refused with the loss; the others answer.
    for (const c of [{ type: 'init' }, { type: 'start' }, { type: 'label-request', count: 1 }, { type: 'generate', prompt: 'x', maxNewTokens: 1, temperature: 0, seed: 1 }] as Command[]) {
      expect(await send(c)).toEqual([{ type: 'error', kind: 'device-lost', message: lost }]);
    }
    expect(await send({ type: 'checkpoint-data', name: 'base' })).toMatchObject([{ type: 'checkpoint-data', name: 'base' }]);
    expect(await send({ type: 'pause' })).toEqual([{ type: 'pipeline-state', state: 'failed' }]); // it never reached its stage

    // recover: a new device, the pipeline rebuilt on it with the kept base model, idle, then the answer.
    from = rec.mark;
    expect(await send({ type: 'recover' })).toEqual([
      { type: 'pipeline-state', state: 'idle' },
      { type: 'recovered', adapter: made[1].rt.adapter, checkpoints: ['base'] },
    ]);
    expect(made).toHaveLength(2);
    const again = await send({ type: 'start', stages: ['pretrain'] });
    expect(again.filter((e) => e.type === 'stage')).toEqual([{ type: 'stage', stage: 'pretrain', state: 'skipped' }]);
    expect(again.at(-1)).toEqual({ type: 'pipeline-state', state: 'done', stage: 'pretrain' });
  });
  test('while a label request samples, configure, restore and load-base are refused; once it ended, configure is accepted', async () => {
    const rec = recorder();
    let release!: () => void;
    const device = new Promise<void>((resolve) => (release = resolve));
    // The runtime comes only on release(): the label request waits in its sampling until then.
    const engine = createEngine(rec.post, { runtime: async () => (await device, fakeRuntime('gpu').rt), asset: publicAsset });
    await engine.handle(NANO);
    const from = rec.mark;
    const labelling = engine.handle({ type: 'label-request', count: 1 });
    await settle();
    await engine.handle({ ...NANO, overrides: { seed: 4 } });
    await engine.handle({ type: 'restore', rankings: [] });
    await engine.handle({ type: 'load-base', folder: 'gpt2', files: [] });
    expect(rec.errors(from)).toEqual([
      'pipeline: configure: completions to label are being sampled — wait for label-items',
      'pipeline: restore: a run or a label request is going — wait for it to end',
      'pipeline: load-base: a run or a label request is going — wait for it to end',
    ]);
    expect(rec.of('pipeline-config', from)).toEqual([]);
    release();
    await labelling;
    expect(rec.errors(from).at(-1)).toMatch(/^pipeline: label-request: there is no policy to sample yet/); // nano has no bundled base model
    await engine.handle({ ...NANO, overrides: { seed: 4 } });
    expect(rec.of('pipeline-config', from).map((e) => e.config.seed)).toEqual([4]);
  });
  test("errorEvent: each failure's kind; a metric alarm names its metric, stage and step", () => {
    const alarm = new PipelineAlarmError({ metric: 'objective/kl', message: 'KL exploded' } as PipelineAlarmError['alarm'], 'ppo', 7, 1e9);
    expect(errorEvent(alarm, 'pipeline')).toEqual({ type: 'error', kind: 'alarm', message: 'ppo stopped at step 7: KL exploded', metric: 'objective/kl', stage: 'ppo', step: 7 });
    expect(errorEvent(new ConfigureError([{ field: 'seed', message: 'bad' }]), 'internal')).toMatchObject({ kind: 'config', problems: [{ field: 'seed', message: 'bad' }] });
    expect(errorEvent(new RecoverError('recover: no'), 'pipeline')).toEqual({ type: 'error', kind: 'device-lost', message: 'recover: no' });
    expect(errorEvent(new ModelLoadError('broken'), 'pipeline')).toEqual({ type: 'error', kind: 'model', message: 'broken' });
    expect(errorEvent(new PipelineCommandError('later'), 'internal')).toEqual({ type: 'error', kind: 'pipeline', message: 'later' });
    expect(errorEvent(new Error('?'), 'internal')).toEqual({ type: 'error', kind: 'internal', message: '?' });
    expect(errorEvent('thrown text', 'pipeline')).toEqual({ type: 'error', kind: 'pipeline', message: 'thrown text' });
  });
});
