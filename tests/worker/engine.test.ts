// The engine behind the worker's protocol, driven directly in Node (Dawn on SwiftShader) with the bundled files read
// from public/: init and sampling, configure (accepted, refused with field and line problems, nothing changed),
// a whole tiny nano pipeline run with its events and exports, a new configuration keeping the checkpoints its
// changes do not reach (PPO alone on the kept SFT and reward model after a change of β), a second start while
// running, the ONNX check on the policy written last, pause/step/resume/stop, and a failed run that leaves the engine usable. The pipeline is cut down (a few steps per stage) to stay quick.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { createNodeRuntime } from '../../src/gpu/node';
import { loadCheckpoint } from '../../src/model/checkpoint';
import { gptForward } from '../../src/reference/gpt';
import { isMetricName } from '../../src/rlhf/metrics';
import { parsePreferenceJsonl } from '../../src/rlhf/preferences';
import { createEngine, type Engine } from '../../src/worker/engine';
import { BASE_MODEL_PATH, type Command, type EngineEvent, type MetricRecord } from '../../src/worker/protocol';
import { expectClose } from '../helpers/tolerance';

type Of<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

/** Every event the engine posts, with its arrival time, and a way to wait for one. */
class Recorder {
  readonly events: { event: EngineEvent; at: number }[] = [];
  private waiters: { from: number; match: (e: EngineEvent) => boolean; resolve: (e: EngineEvent) => void }[] = [];

  readonly post = (event: EngineEvent) => {
    this.events.push({ event, at: performance.now() });
    for (const w of [...this.waiters]) {
      if (w.match(event)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  };

  get mark(): number {
    return this.events.length;
  }

  of<T extends EngineEvent['type']>(type: T, from = 0): Of<T>[] {
    return this.events.slice(from).flatMap(({ event }) => (event.type === type ? [event as Of<T>] : []));
  }

  /** Runs `act` as the first event from now on that matches is posted, before the engine goes on (once). */
  when<T extends EngineEvent['type']>(type: T, match: (e: Of<T>) => boolean, act: () => void): void {
    this.waiters.push({ from: this.mark, match: (e) => e.type === type && match(e as Of<T>), resolve: act });
  }

  /** The first event from index `from` on that matches (already posted or still to come). */
  waitFor<T extends EngineEvent['type']>(type: T, from: number, match: (e: Of<T>) => boolean = () => true, timeoutMs = 60_000): Promise<Of<T>> {
    const ok = (e: EngineEvent) => e.type === type && match(e as Of<T>);
    const found = this.events.slice(from).find(({ event }) => ok(event));
    if (found) return Promise.resolve(found.event as Of<T>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ from, match: ok, resolve: (e) => (clearTimeout(timer), resolve(e as Of<T>)) });
    });
  }

  metricRecords(from = 0): MetricRecord[] {
    return this.of('metrics', from).flatMap((e) => e.records);
  }

  states(from = 0): string[] {
    return this.of('pipeline-state', from).map((e) => e.state);
  }
}

const lines = (bytes: Uint8Array) =>
  new TextDecoder()
    .decode(bytes)
    .split('\n')
    .filter((l) => l !== '');

/** A pipeline small enough for SwiftShader: every stage runs, each for a step or two (~30 s in all). */
const TINY_RUN = {
  seed: 5,
  'pretrain.steps': 4,
  'sft.steps': 2,
  'labels.prompts': 4,
  'ppo.batchSize': 4,
  'ppo.miniBatches': 2,
  'ppo.episodes': 8,
  'bon.maxN': 2,
  'bon.prompts': 2,
  'eval.prompts': 2,
};

describe('engine (the worker protocol in Node)', () => {
  let rt: GpuRuntime;
  const rec = new Recorder();
  let engine: Engine;
  const send = (command: Command) => engine.handle(command);
  /** The file an export command posts (it must post no error). */
  const exported = async (command: Extract<Command, { type: 'export' }>) => {
    const from = rec.mark;
    await send(command);
    expect(rec.of('error', from)).toEqual([]);
    return rec.of('file', from)[0];
  };

  beforeAll(async () => {
    rt = await createNodeRuntime();
    engine = createEngine(rec.post, {
      runtime: async () => rt,
      asset: async (path) => new Uint8Array(await readFile(join('public', path))),
    });
  });

  afterAll(() => rt?.destroy());

  test('init reports the adapter and the bundled base model; generate samples from it', async () => {
    await send({ type: 'init' });
    expect(rec.of('ready')[0].adapter.description).toMatch(/\S/);
    const bundled = loadCheckpoint(await readFile(join('public', BASE_MODEL_PATH)));
    const { info } = rec.of('model')[0];
    expect(info.config).toEqual(bundled.config);
    expect(info.tokenizer).toBe('bpe');
    const from = rec.mark;
    await send({ type: 'generate', prompt: 'Once upon a time', maxNewTokens: 4, temperature: 0, seed: 1 });
    const [sample] = rec.of('sample', from);
    expect(sample.prompt).toBe('Once upon a time');
    expect(sample.text).toMatch(/\S/); // the continuation
    expect(sample.tokens).toBeGreaterThan(0);
    expect(sample.tokens).toBeLessThanOrEqual(4);
    expect(rec.of('error')).toEqual([]);
  });

  test('configure: field problems are refused and change nothing; a good configuration is echoed', async () => {
    let from = rec.mark;
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { 'ppo.clip': 7, 'sft.steps': 'many', 'ppo.bogus': 1 } });
    const [refused] = rec.of('error', from);
    expect(refused).toMatchObject({ kind: 'config' });
    if (refused.kind !== 'config') throw new Error('unreachable');
    expect(refused.problems.map((p) => p.field).sort()).toEqual(['ppo.bogus', 'ppo.clip', 'sft.steps']);
    expect(refused.message).toMatch(/ppo\.clip: must be in \(0, 1\], got 7/);
    expect(rec.of('pipeline-config', from)).toEqual([]);
    // Nothing was configured: start says so.
    from = rec.mark;
    await send({ type: 'start' });
    expect(rec.of('error', from)).toMatchObject([{ kind: 'pipeline', message: expect.stringMatching(/configure the pipeline first/) }]);

    from = rec.mark;
    await send({ type: 'configure', task: 'nowhere', preset: 'huge', overrides: {} });
    const fields = rec.of('error', from).flatMap((e) => (e.kind === 'config' ? e.problems.map((p) => p.field) : []));
    expect(fields.sort()).toEqual(['preset', 'task']);

    from = rec.mark;
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: TINY_RUN });
    const [accepted] = rec.of('pipeline-config', from);
    expect(accepted.config).toMatchObject({ task: 'sentiment', preset: 'nano', seed: 5, pretrain: { steps: 4 }, ppo: { episodes: 8, batchSize: 4, clip: 0.2 } });
    expect(accepted.task).toMatchObject({ id: 'sentiment', hasGold: true, preferences: 0 });
    expect(accepted.task.trainPrompts).toBeGreaterThan(0);

    // A refused configuration keeps the accepted one (the run below checks it ran with seed 5 and 8 episodes).
    from = rec.mark;
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { ...TINY_RUN, seed: 9, 'ppo.episodes': 6 } });
    expect(rec.of('error', from)).toMatchObject([{ kind: 'config', problems: [{ field: 'ppo.episodes' }] }]);
  });

  test('start runs every stage, streaming stage/metrics/progress/episodes/samples/summary events; a second start is refused', { timeout: 300_000 }, async () => {
    const from = rec.mark;
    const run = send({ type: 'start' });
    await send({ type: 'start' }); // refused at once: the first run goes on
    expect(rec.of('error', from)).toMatchObject([{ kind: 'pipeline', message: expect.stringMatching(/a run is going/) }]);
    await run;
    expect(rec.of('error', from)).toHaveLength(1);
    const states = rec.states(from);
    expect(states[0]).toBe('running');
    expect(states.at(-1)).toBe('done');
    expect(states).not.toContain('failed');

    // nano does not fit the bundled base model, so it pretrains first.
    expect(rec.of('stage', from).map((e) => `${e.stage} ${e.state}`)).toEqual(['pretrain', 'sft', 'rm', 'ppo', 'bon', 'eval'].flatMap((s) => [`${s} started`, `${s} done`]));
    for (const e of rec.of('stage', from).filter((e) => e.state === 'done')) expect(e.seconds).toBeGreaterThan(0);

    const records = rec.metricRecords(from);
    expect(new Set(records.map((r) => r.stage))).toEqual(new Set(['pretrain', 'sft', 'rm', 'ppo', 'bon', 'eval']));
    for (const r of records) for (const k of Object.keys(r)) if (k !== 'stage' && k !== 'step') expect(isMetricName(k), k).toBe(true);
    expect(records.filter((r) => r.stage === 'ppo')).toHaveLength(2); // 8 episodes, 4 per iteration
    expect(records.filter((r) => r.stage === 'pretrain').map((r) => r.step)).toEqual([0, 1, 2, 3]);

    // Batched: back-to-back metric messages (nothing else posted between them) are at least ~100 ms apart.
    const posted = rec.events.slice(from);
    for (let i = 1; i < posted.length; i++) {
      if (posted[i].event.type === 'metrics' && posted[i - 1].event.type === 'metrics') expect(posted[i].at - posted[i - 1].at).toBeGreaterThan(90);
    }

    const progress = rec.of('progress', from);
    expect(progress.find((p) => p.stage === 'pretrain' && p.done === 4 && p.total === 4)).toBeDefined();
    for (const p of progress) expect(p.done).toBeLessThanOrEqual(p.total);

    const episodes = rec.of('episodes', from);
    expect(episodes.map((e) => e.iteration)).toEqual([0, 1]);
    expect(episodes[0].episodes).toHaveLength(4);
    expect(typeof episodes[0].episodes[0].response).toBe('string');

    const samples = rec.of('samples', from).flatMap((e) => e.samples);
    expect(new Set(samples.map((s) => s.policy))).toEqual(new Set(['bon-2', 'sft', 'ppo']));
    expect(rec.of('checkpoint', from).map((e) => e.name)).toEqual(['base', 'sft', 'reward-model', 'ppo']);

    const [{ summary }] = rec.of('summary', from);
    expect(summary).toMatchObject({ task: 'sentiment', preset: 'nano', seed: 5 });
    expect(Number.isFinite(summary.ppo.win_rate)).toBe(true);
    expect(summary.bon.map((b) => b.n)).toEqual([1, 2]);
  });

  test('exports the checkpoints, ONNX of the PPO policy, metrics (JSONL, CSV), samples and rankings', { timeout: 120_000 }, async () => {
    const ppo = await exported({ type: 'export', format: 'safetensors', model: 'ppo' });
    expect(ppo.name).toBe('rlhf-lab-ppo.safetensors');
    const policy = loadCheckpoint(ppo.bytes);
    expect(policy.head).toBeUndefined();
    expect(policy.config).toMatchObject({ nLayer: 2, dModel: 32, contextLength: 32 });
    expect(JSON.parse(policy.metadata['rlhf_lab.pipeline'])).toEqual({ task: 'sentiment', stage: 'ppo', seed: 5 });
    expect(loadCheckpoint((await exported({ type: 'export', format: 'safetensors', model: 'reward-model' })).bytes).head).toBe('score');
    // The same file again: the kept checkpoint was copied, not handed over.
    expect((await exported({ type: 'export', format: 'safetensors', model: 'ppo' })).bytes).toEqual(ppo.bytes);

    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create((await exported({ type: 'export', format: 'onnx', model: 'ppo' })).bytes, { executionProviders: ['wasm'] });
    const tokens = [1, 2, 3, 4, 5];
    const { logits } = await session.run({ tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, 5]) });
    // f32 ONNX Runtime vs the float64 reference on the checkpoint's weights (the budget of the e2e export test).
    expectClose(logits.data as Float32Array, gptForward(policy.config, policy.weights, tokens, 1, 5), { atol: 2e-4, rtol: 5e-5 }, 'ONNX logits');
    await session.release();

    let from = rec.mark;
    await send({ type: 'export', format: 'onnx', model: 'reward-model' });
    expect(rec.of('error', from)).toMatchObject([{ kind: 'pipeline', message: expect.stringMatching(/ONNX is for the policies/) }]);

    const records = rec.metricRecords(rec.events.findIndex(({ event }) => event.type === 'stage' && event.stage === 'pretrain' && event.state === 'started'));
    const jsonlRecords = lines((await exported({ type: 'export', format: 'metrics-jsonl' })).bytes).map((l) => JSON.parse(l));
    expect(jsonlRecords).toEqual(JSON.parse(JSON.stringify(records)));
    // Pretrain asked for again is skipped (the base model is there): its records stay, as on the page's charts.
    const skipRun = rec.mark;
    await send({ type: 'start', stages: ['pretrain'] });
    expect(rec.of('stage', skipRun).map((e) => `${e.stage} ${e.state}`)).toEqual(['pretrain skipped']);
    expect(lines((await exported({ type: 'export', format: 'metrics-jsonl' })).bytes).map((l) => JSON.parse(l))).toEqual(jsonlRecords);

    const csv = (await exported({ type: 'export', format: 'metrics-csv' })).bytes;
    const [header, ...rows] = lines(csv).map((l) => l.split(','));
    const names = [...new Set(records.flatMap((r) => Object.keys(r)))];
    expect(header.slice(0, 2)).toEqual(['stage', 'step']);
    expect(new Set(header)).toEqual(new Set(names));
    expect(header).toHaveLength(names.length);
    expect(rows).toHaveLength(records.length);
    rows.forEach((row, i) => {
      expect(row).toHaveLength(header.length);
      expect(row.slice(0, 2)).toEqual([records[i].stage, String(records[i].step)]);
      header.forEach((name, c) => {
        const v = (records[i] as Record<string, unknown>)[name];
        expect(row[c]).toBe(v === undefined ? '' : String(v));
      });
    });

    const samples = lines((await exported({ type: 'export', format: 'samples-jsonl' })).bytes).map((l) => JSON.parse(l));
    expect(samples).toHaveLength(rec.of('samples').flatMap((e) => e.samples).length);
    for (const s of samples) expect(Object.keys(s).sort()).toEqual(['gold', 'policy', 'prompt', 'proxy', 'response']);

    const rankings = parsePreferenceJsonl(new TextDecoder().decode((await exported({ type: 'export', format: 'preferences-jsonl' })).bytes));
    expect(rankings.length).toBeGreaterThanOrEqual(2);
    for (const r of rankings) {
      expect(r.completions).toHaveLength(4); // labels.k of nano
      expect(r.source).toBe('simulated');
    }

    // The loaded base model still exports as before.
    expect(loadCheckpoint((await exported({ type: 'export', format: 'safetensors' })).bytes).config.nLayer).toBe(4);
    from = rec.mark;
    await send({ type: 'export', format: 'safetensors', model: 'base' });
    expect(rec.of('file', from)).toHaveLength(1); // nano pretrained its own base
  });

  test('time-split: a stage run again with its time split gives the same results, and its done event says where its seconds went', { timeout: 120_000 }, async () => {
    const bon = (from: number) => ({ samples: rec.of('samples', from).flatMap((e) => e.samples), records: rec.metricRecords(from).filter((r) => r.stage === 'bon') });
    const before = bon(rec.events.findIndex(({ event }) => event.type === 'stage' && event.stage === 'bon' && event.state === 'started'));
    const from = rec.mark;
    await send({ type: 'time-split', enabled: true });
    await send({ type: 'start', stages: ['bon'] });
    await send({ type: 'time-split', enabled: false });
    expect(rec.of('error', from)).toEqual([]);
    expect(bon(from)).toEqual({ samples: before.samples.filter((x) => x.policy.startsWith('bon')), records: before.records });
    const [done] = rec.of('stage', from).filter((e) => e.state === 'done');
    const time = done.time!;
    expect(Object.keys(time).sort()).toEqual(['cpu', 'forwardBackward', 'generation', 'optimizer', 'readback']);
    // Best-of-N samples from the SFT policy and scores with the reward model; it trains nothing.
    expect(time.generation).toBeGreaterThan(0);
    expect(time.forwardBackward).toBeGreaterThan(0);
    expect(time.optimizer).toBe(0);
    const sum = Object.values(time).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - done.seconds!)).toBeLessThan(0.05);
  });

  test('configure keeps the checkpoints the changed settings do not reach; PPO then runs alone on them', { timeout: 180_000 }, async () => {
    const firstSft = rec.of('samples').flatMap((e) => e.samples).filter((x) => x.policy === 'sft');
    const sizes = Object.fromEntries(rec.of('checkpoint').map((e) => [e.name, e.size]));

    // Only β changed: base, SFT and the reward model stay; the PPO policy was made with the old β and goes.
    let from = rec.mark;
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { ...TINY_RUN, 'ppo.klCoef': 0 } });
    expect(rec.of('pipeline-config', from).map((e) => e.kept)).toEqual([['base', 'sft', 'reward-model']]);
    await send({ type: 'export', format: 'safetensors', model: 'ppo' });
    expect(rec.of('error', from)).toMatchObject([{ kind: 'pipeline', message: expect.stringMatching(/no ppo checkpoint yet/) }]);

    from = rec.mark;
    await send({ type: 'start', stages: ['ppo', 'eval'] });
    expect(rec.of('error', from)).toEqual([]);
    expect(rec.states(from).at(-1)).toBe('done');
    expect(rec.of('stage', from).map((e) => `${e.stage} ${e.state}`)).toEqual(['ppo started', 'ppo done', 'eval started', 'eval done']);
    expect(new Set(rec.metricRecords(from).map((r) => r.stage))).toEqual(new Set(['ppo', 'eval'])); // SFT did not run
    expect(rec.of('checkpoint', from).map((e) => e.name)).toEqual(['ppo']);
    // The evaluation's SFT samples are the first run's: the same SFT weights, the same seed.
    expect(rec.of('samples', from).flatMap((e) => e.samples).filter((x) => x.policy === 'sft')).toEqual(firstSft);
    // The kept reward model still has its rankings to export, and its bytes are the first run's.
    await send({ type: 'export', format: 'preferences-jsonl' });
    await send({ type: 'checkpoint-data', name: 'reward-model' });
    expect(rec.of('error', from)).toEqual([]);
    expect(rec.of('checkpoint-data', from)[0].bytes.byteLength).toBe(sizes['reward-model']);

    // Stages run again alone: the export keeps the other stages' records and the other policies' samples (as the
    // page's charts and samples do), and a stage's new records and samples replace its earlier ones.
    const exportedRecords = async () => lines((await exported({ type: 'export', format: 'metrics-jsonl' })).bytes).map((l) => JSON.parse(l));
    const exportedSamples = async () => lines((await exported({ type: 'export', format: 'samples-jsonl' })).bytes).map((l) => JSON.parse(l));
    const json = <T,>(x: T): T => JSON.parse(JSON.stringify(x));
    const [ppoEvalRecords, evalSamples] = [rec.metricRecords(from), rec.of('samples', from).flatMap((e) => e.samples)];
    const bonRun = rec.mark;
    await send({ type: 'start', stages: ['bon'] });
    expect(rec.of('error', bonRun)).toEqual([]);
    const [bonRecords, bonSamples] = [rec.metricRecords(bonRun), rec.of('samples', bonRun).flatMap((e) => e.samples)];
    expect(bonSamples.length).toBeGreaterThan(0);
    expect(await exportedRecords()).toEqual(json([...ppoEvalRecords, ...bonRecords]));
    expect(await exportedSamples()).toEqual([...evalSamples, ...bonSamples]);
    const evalRun = rec.mark;
    await send({ type: 'start', stages: ['eval'] });
    expect(rec.of('error', evalRun)).toEqual([]);
    const ppoRecords = ppoEvalRecords.filter((r) => r.stage === 'ppo');
    expect(await exportedRecords()).toEqual(json([...ppoRecords, ...bonRecords, ...rec.metricRecords(evalRun)]));
    expect(await exportedSamples()).toEqual([...bonSamples, ...rec.of('samples', evalRun).flatMap((e) => e.samples)]);

    // Only the evaluation's settings changed: the new PPO policy stays too, and the evaluation runs on it alone.
    from = rec.mark;
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { ...TINY_RUN, 'ppo.klCoef': 0, 'eval.prompts': 3 } });
    expect(rec.of('pipeline-config', from).map((e) => e.kept)).toEqual([['base', 'sft', 'reward-model', 'ppo']]);
    await send({ type: 'start', stages: ['eval'] });
    expect(rec.of('error', from)).toEqual([]);
    expect(rec.of('samples', from).flatMap((e) => e.samples).filter((x) => x.policy === 'ppo')).toHaveLength(3);

    // A policy trained again is the newest: the ONNX check runs the one written last (GRPO, then PPO again), not
    // the first one written.
    for (const stage of ['grpo', 'ppo'] as const) {
      from = rec.mark;
      await send({ type: 'start', stages: [stage] });
      expect(rec.of('error', from)).toEqual([]);
    }
    from = rec.mark;
    await send({ type: 'policy-onnx', prompt: 'Hi', maxNewTokens: 2 });
    expect(rec.of('policy-onnx', from).map((e) => e.model)).toEqual(['ppo']);

    // An SFT setting changed: only the base model stays; PPO has no SFT model to start from.
    from = rec.mark;
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { ...TINY_RUN, 'sft.lr': 5e-4 } });
    expect(rec.of('pipeline-config', from).map((e) => e.kept)).toEqual([['base']]);
    await send({ type: 'start', stages: ['pretrain', 'ppo'] });
    expect(rec.of('stage', from).map((e) => `${e.stage} ${e.state}`)).toEqual(['pretrain skipped', 'ppo started']); // the kept base
    expect(rec.of('error', from)).toMatchObject([{ kind: 'pipeline', message: expect.stringMatching(/PPO needs the sft checkpoint/) }]);

    // Back to the first run's settings: nothing of it is left to keep but the base model.
    from = rec.mark;
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: TINY_RUN });
    expect(rec.of('pipeline-config', from).map((e) => e.kept)).toEqual([['base']]);

    // SFT and the reward model run alone (the reward model the last checkpoint written), then β changes: the kept
    // reward model keeps the rankings it was trained on, for the preferences export of the new configuration.
    from = rec.mark;
    await send({ type: 'start', stages: ['sft', 'rm'] });
    expect(rec.of('error', from)).toEqual([]);
    expect(rec.of('checkpoint', from).map((e) => e.name)).toEqual(['sft', 'reward-model']);
    const preferences = (await exported({ type: 'export', format: 'preferences-jsonl' })).bytes;
    from = rec.mark;
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { ...TINY_RUN, 'ppo.klCoef': 0 } });
    expect(rec.of('pipeline-config', from).map((e) => e.kept)).toEqual([['base', 'sft', 'reward-model']]);
    expect((await exported({ type: 'export', format: 'preferences-jsonl' })).bytes).toEqual(preferences);
  });

  test('a failing stage ends the run as failed with a pipeline error; the engine stays usable', { timeout: 120_000 }, async () => {
    let from = rec.mark;
    await send({ type: 'configure', task: 'instructions', preset: 'nano', overrides: { 'pretrain.steps': 2 } });
    expect(rec.of('pipeline-config', from)).toHaveLength(1);
    // A new configuration drops the previous results.
    await send({ type: 'export', format: 'safetensors', model: 'ppo' });
    expect(rec.of('error', from)).toMatchObject([{ kind: 'pipeline', message: expect.stringMatching(/no ppo checkpoint yet/) }]);

    from = rec.mark;
    await send({ type: 'start', stages: ['ppo'] });
    expect(rec.of('error', from)).toMatchObject([{ kind: 'pipeline', message: expect.stringMatching(/PPO needs the sft checkpoint/) }]);
    expect(rec.states(from).at(-1)).toBe('failed');

    from = rec.mark;
    await send({ type: 'start', stages: ['pretrain'] });
    expect(rec.of('error', from)).toEqual([]);
    expect(rec.states(from).at(-1)).toBe('done');
    expect(rec.metricRecords(from).map((r) => r.step)).toEqual([0, 1]);
  });

  test('pause waits at a unit boundary, step runs exactly one unit, resume goes on, stop ends the run', { timeout: 180_000 }, async () => {
    let from = rec.mark;
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { 'pretrain.steps': 4, 'sft.steps': 20 } });
    expect(rec.of('pipeline-config', from)).toHaveLength(1);
    from = rec.mark;
    const steps = (stage: string) => rec.metricRecords(from).flatMap((r) => (r.stage === stage ? [r.step] : []));
    const stageEvents = () => rec.of('stage', from).map((e) => `${e.stage} ${e.state}`);
    // Pause sent as start returns: start has set the run going, and pause acts on it at once (Engine.handle), so the
    // run waits at its first gate, before any stage.
    const run = send({ type: 'start', stages: ['pretrain', 'sft'] });
    await send({ type: 'pause' });
    await rec.waitFor('pipeline-state', from, (e) => e.state === 'paused');
    expect(stageEvents()).toEqual([]);
    expect(rec.metricRecords(from)).toEqual([]);

    // Paused, the engine still answers (a sample of the base model) and the run does not move meanwhile.
    let mark = rec.mark;
    await send({ type: 'generate', prompt: 'Once upon a time', maxNewTokens: 4, temperature: 0, seed: 1 });
    expect(rec.events.slice(mark).map(({ event }) => event.type)).toEqual(['sample']);

    // Each step: one unit (the stage's start and its first optimizer step, then one more step), its records flushed
    // before the run says it paused again.
    for (const expected of [[0], [0, 1]]) {
      mark = rec.mark;
      await send({ type: 'step' });
      await rec.waitFor('pipeline-state', mark, (e) => e.state === 'paused');
      expect(rec.states(mark)).toEqual(['running', 'paused']);
      expect(steps('pretrain')).toEqual(expected);
    }
    expect(stageEvents()).toEqual(['pretrain started']);

    // Resume: pretraining goes on to its end and SFT starts; a pause sent as SFT starts (from its stage event, before
    // the engine goes on) holds the run after SFT's first optimizer step, where stop ends it.
    mark = rec.mark;
    rec.when('stage', (e) => e.stage === 'sft' && e.state === 'started', () => void send({ type: 'pause' }));
    await send({ type: 'resume' });
    await rec.waitFor('pipeline-state', mark, (e) => e.state === 'paused');
    expect(rec.states(mark)).toEqual(['running', 'paused']);
    expect(steps('pretrain')).toEqual([0, 1, 2, 3]);
    expect(steps('sft')).toEqual([0]);
    mark = rec.mark;
    await send({ type: 'stop' });
    await run;
    expect(rec.states(mark)).toEqual(['stopping', 'stopped']);
    expect(steps('sft')).toEqual([0]);
    expect(stageEvents()).toEqual(['pretrain started', 'pretrain done', 'sft started']);
    expect(rec.of('summary', from)).toHaveLength(1);

    // Pipeline commands with no run going answer with the state (no error).
    mark = rec.mark;
    await send({ type: 'pause' });
    expect(rec.of('pipeline-state', mark).map((e) => e.state)).toEqual(['stopped']);
    expect(rec.of('error', from)).toEqual([]);
  });

  test('a custom task with malformed JSONL lines is refused naming the file and line; a good one is accepted', async () => {
    let from = rec.mark;
    const preferences = ['{"prompt": "Say hi.", "chosen": "hi", "rejected": "go away"}', '{"prompt": "Say bye.", "chosen": 3, "rejected": "no"}', 'not json'].join('\n');
    const sft = ['{"prompt": "Say hi.", "completion": "hi"}', '{"prompt": "Say bye."}'].join('\n');
    await send({ type: 'configure', task: 'custom', preset: 'nano', overrides: {}, custom: { preferences, sft } });
    const [refused] = rec.of('error', from);
    if (refused?.kind !== 'config') throw new Error(`expected a config error, got ${JSON.stringify(refused)}`);
    expect(refused.problems.map((p) => `${p.field}:${p.line}`)).toEqual(['custom.sft:2', 'custom.preferences:2', 'custom.preferences:3']);
    expect(refused.message).toMatch(/custom\.preferences line 2: "chosen" must be a string/);
    expect(rec.of('pipeline-config', from)).toEqual([]);

    from = rec.mark;
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: {}, custom: { prompts: '{"prompt": "x"}' } });
    expect(rec.of('error', from)).toMatchObject([{ kind: 'config', problems: [{ field: 'custom' }] }]);

    from = rec.mark;
    const good = preferences.split('\n')[0] + '\n{"prompt": "Say bye.", "completions": ["bye", "see you", "no"]}\n';
    await send({ type: 'configure', task: 'custom', preset: 'nano', overrides: { seed: 2 }, custom: { preferences: good, sft: sft.split('\n')[0] } });
    expect(rec.of('error', from)).toEqual([]);
    const [accepted] = rec.of('pipeline-config', from);
    expect(accepted.task).toMatchObject({ id: 'custom', preferences: 2, demonstrations: 1, hasGold: false });
    expect(accepted.config.task).toBe('custom');
  });
});
