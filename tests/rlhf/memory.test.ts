// GPU memory: the estimate of src/rlhf/memory.ts against what the buffer pool really holds in each stage of a nano
// run; a configuration too large for this GPU refused before anything is allocated (the pipeline, the command line);
// and a stage that runs out of memory anyway stopping with GpuOutOfMemoryError, its last good weights kept.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { main } from '../../src/cli/pipeline';
import { GpuOutOfMemoryError, memoryBudget } from '../../src/gpu';
import { makeConfig } from '../../src/model/config';
import { initWeights } from '../../src/model/params';
import { sampleBatchRows } from '../../src/rlhf/batch-sizes';
import { makePipelineConfig, PipelineConfigError } from '../../src/rlhf/config';
import { memoryProblems, stageMemory } from '../../src/rlhf/memory';
import { createPipeline } from '../../src/rlhf/pipeline';
import { STAGE_IDS } from '../../src/rlhf/stages';
import { gpuTest } from '../helpers/gpu';
import { failNextCreation } from '../helpers/out-of-memory';

const bundle = { baseCheckpoint: readFileSync('public/models/base-tiny.safetensors'), corpus: readFileSync('public/corpus/tiny-stories.txt', 'utf8') };
const MiB = 2 ** 20;
/** Sequences a software adapter samples at once (this machine's). */
const SOFTWARE_ROWS = sampleBatchRows({ software: true });
/** The small preset with PPO's largest batch: gigabytes of logits in one minibatch. */
const HUGE_PPO = { 'ppo.batchSize': 4096, 'ppo.episodes': 4096, 'ppo.miniBatches': 1 };

describe('the estimate', () => {
  const nano = makePipelineConfig('nano');
  const model = makeConfig('nano', { vocabSize: 1024, dropout: 0 });

  test('a refusal names the setting, what the stage needs and what the device allows', () => {
    const budget = { ...memoryBudget({ maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 100 * MiB }, 8 * MiB), totalSource: 'a test budget' };
    const problems = memoryProblems(nano, model, STAGE_IDS, budget, SOFTWARE_ROWS);
    // Best-of-N and the evaluation fit in 4 MiB; each other stage names the setting its largest phase grows with.
    // (The reward model and the ensemble, whose members train one at a time as the reward model does, both need the most in sampling for the labelers.)
    expect(problems.map((p) => p.field)).toEqual(['pretrain.batchSize', 'sft.batchSize', 'labels.k', 'labels.k', 'ppo.batchSize', 'dpo.groupsPerStep', 'grpo.promptsPerIteration', 'rloo.promptsPerIteration']);
    expect(problems.find((p) => p.field === 'ppo.batchSize')!.message).toBe('PPO needs 5.5 MiB of GPU memory, this GPU allows 4.0 MiB (a test budget); the most in scoring the rollout: activations of 256 tokens, 2.2 MiB');
    const big = makePipelineConfig('nano', { 'sft.batchSize': 1024 });
    expect(memoryProblems(big, model, ['sft'], { ...budget, totalBytes: 2 ** 40 }, SOFTWARE_ROWS)).toEqual([
      { field: 'sft.batchSize', message: 'SFT needs 128 MiB in one buffer for the logits of 32768 tokens, this GPU allows 100 MiB (maxStorageBufferBindingSize)' },
    ]);
  });

  test('grows with the batch, and with PPO-ptx', () => {
    const sft = (batchSize: number) => stageMemory('sft', makePipelineConfig('nano', { 'sft.batchSize': batchSize }), model, SOFTWARE_ROWS).totalBytes;
    expect(sft(16)).toBeGreaterThan(sft(8));
    const ppo = (ptxCoef: number) => stageMemory('ppo', makePipelineConfig('nano', { 'ppo.ptxCoef': ptxCoef, 'ppo.ptxBatchSize': 64 }), model, SOFTWARE_ROWS);
    expect(ppo(0.5).totalBytes).toBeGreaterThan(ppo(0).totalBytes);
    expect(ppo(0.5).phase).toBe('a policy step with its pretraining batch');
  });

  test('sampling holds the KV cache of as many sequences as the device samples at once', () => {
    // 32 prompts × (k + 2) = 192 sequences sampled for the labelers: 64 at once on a software adapter, all 192 on a GPU.
    const rm = (rows: number) => stageMemory('rm', makePipelineConfig('nano', { 'labels.prompts': 32 }), model, rows);
    expect(rm(64).phase).toBe('sampling for the labelers');
    const cache = (rows: number) => rm(rows).parts.find((p) => p.what.startsWith('the KV cache'))!;
    expect(cache(sampleBatchRows({ software: false })).what).toBe('the KV cache of 192 sequences');
    expect(cache(SOFTWARE_ROWS).bytes * 3).toBe(cache(sampleBatchRows({ software: false })).bytes);
  });

  test("PPO holds its reward source's models: the reward model, the ensemble's members, or none", () => {
    const ppo = (overrides: Record<string, unknown>) => stageMemory('ppo', makePipelineConfig('nano', overrides), model, SOFTWARE_ROWS);
    const rm = ppo({}).totalBytes;
    const one = 2 * 4 * (model.vocabSize * model.dModel + model.contextLength * model.dModel); // at least the embeddings' arenas
    expect(ppo({ 'ppo.rewardSource': 'verifier' }).totalBytes).toBeLessThan(rm - one);
    expect(ppo({ 'ppo.rewardSource': 'gold' }).totalBytes).toBe(ppo({ 'ppo.rewardSource': 'verifier' }).totalBytes);
    const ensemble = (members: number) => ppo({ 'ppo.rewardSource': 'ensemble', 'ensemble.members': members }).totalBytes;
    // Each member is one more reward model: the ensemble of 2 holds one more than the reward model alone, 4 three more.
    expect(ensemble(3) - ensemble(2)).toBe(rm - ppo({ 'ppo.rewardSource': 'verifier' }).totalBytes);
    expect(ensemble(2) - rm).toBe(ensemble(3) - ensemble(2));
    expect(ensemble(4) - ensemble(2)).toBe(2 * (ensemble(3) - ensemble(2)));
  });
});

describe('on this GPU', () => {
  gpuTest('covers what each stage of a nano run really holds at its peak, within 25%', { timeout: 600_000 }, async ({ rt }) => {
    // Short stages: the number of steps changes no buffer's size.
    const config = makePipelineConfig('nano', { 'pretrain.steps': 2, 'sft.steps': 2, 'ppo.episodes': 8, 'dpo.epochs': 1, 'dpo.evalEvery': 1000 });
    const pipeline = createPipeline(rt, config, bundle);
    const stats = rt.buffers.stats;
    const ratios: Record<string, number> = {};
    for (const stage of STAGE_IDS) {
      stats.peakInUseBytes = stats.inUseBytes;
      await pipeline.runStage(stage);
      const estimate = stageMemory(stage, config, pipeline.modelConfig, sampleBatchRows(rt.adapter)).totalBytes;
      ratios[stage] = estimate / stats.peakInUseBytes;
    }
    for (const [stage, ratio] of Object.entries(ratios)) {
      expect(ratio, stage).toBeGreaterThanOrEqual(1);
      expect(ratio, stage).toBeLessThanOrEqual(1.25);
    }
  });

  gpuTest('a configuration too large for it is refused before anything is allocated, naming the setting', async ({ rt }) => {
    const pipeline = createPipeline(rt, makePipelineConfig('small', HUGE_PPO), bundle);
    const allocations = rt.buffers.stats.allocations;
    const error = await pipeline.run(['ppo']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PipelineConfigError);
    const problems = (error as PipelineConfigError).problems;
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) {
      expect(p.field).toBe('ppo.batchSize');
      expect(p.message).toMatch(/^PPO needs \d+ MiB (in one buffer for the logits of 1048576 tokens|of GPU memory), this GPU allows \d+ MiB \((maxStorageBufferBindingSize|maxBufferSize|half of this machine's [\d.]+ GiB)\)/);
    }
    expect(rt.buffers.stats.allocations).toBe(allocations);
  });

  test('the command line refuses it with the same message and exit status 2', async () => {
    const out = mkdtempSync(join(tmpdir(), 'memory-test-'));
    const errors: string[] = [];
    const args = ['--preset', 'small', '--stages', 'ppo', '--out', out, ...Object.entries(HUGE_PPO).flatMap(([k, v]) => ['--set', `${k}=${v}`])];
    expect(await main(args, () => {}, (line) => errors.push(line))).toBe(2);
    expect(errors.join('\n')).toMatch(/^invalid pipeline configuration: ppo\.batchSize: PPO needs \d+ MiB (in one buffer|of GPU memory).*, this GPU allows \d+ MiB/);
  });

  gpuTest('a stage that runs out of memory stops with GpuOutOfMemoryError and keeps its last good weights', { timeout: 300_000 }, async ({ rt }) => {
    const config = makePipelineConfig('nano', { 'ppo.episodes': 8 });
    const checkpoints: string[] = [];
    const pipeline = createPipeline(rt, config, bundle, { checkpoint: (name) => checkpoints.push(name) });
    const sft = initWeights(pipeline.modelConfig, 1);
    pipeline.weights.sft = sft;
    pipeline.weights['reward-model'] = initWeights(pipeline.modelConfig, 2, 'score');
    rt.buffers.trim(); // no free buffer of an earlier test to reuse: every buffer of the stage is created
    failNextCreation(rt.device, 'generate/k_cache'); // the rollout's KV cache: before the first update
    const error = await pipeline.run(['ppo', 'eval']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GpuOutOfMemoryError);
    expect((error as Error).message).toMatch(/^the GPU ran out of memory allocating [\d.]+ MiB for "generate\/k_cache"/);
    // The policy's weights before the failed iteration (the SFT policy's) are the PPO checkpoint; evaluation did not run.
    expect(checkpoints).toEqual(['ppo']);
    expect(pipeline.weights.ppo).toEqual(sft);
    expect(pipeline.summary.policies).toEqual({});
  });
});
