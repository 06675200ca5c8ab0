// `configure` once the engine has its device: a configuration whose stages need more GPU memory than the device allows
// is refused with the other problems (kind 'config', naming the setting), before any run allocates anything — on the
// CPU against a given budget, and through the engine on this machine's real adapter after `init`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createNodeRuntime } from '../../src/gpu/node';
import { memoryBudget } from '../../src/gpu';
import { makeConfig } from '../../src/model/config';
import { sampleBatchRows } from '../../src/rlhf/batch-sizes';
import { makePipelineConfig } from '../../src/rlhf/config';
import { stageMemory } from '../../src/rlhf/memory';
import { acceptConfiguration, type DeviceFit } from '../../src/worker/configure';
import { createEngine } from '../../src/worker/engine';
import { ConfigureError } from '../../src/worker/errors';
import type { ConfigureRequest } from '../../src/worker/protocol';
import { recorder } from './fakes';

/** The small preset with PPO's largest batch: gigabytes of logits in one minibatch. */
const HUGE_PPO: ConfigureRequest = { task: 'sentiment', preset: 'small', overrides: { 'ppo.batchSize': 4096, 'ppo.episodes': 4096, 'ppo.miniBatches': 1 } };

function problemsOf(request: ConfigureRequest, device?: DeviceFit) {
  try {
    acceptConfiguration(request, device);
    return [];
  } catch (e) {
    if (e instanceof ConfigureError) return e.problems;
    throw e;
  }
}

describe('configure against the device', () => {
  const base = makeConfig('tiny', { vocabSize: 1024, dropout: 0 }); // the bundled base model's architecture
  const sampleRows = sampleBatchRows({ software: false });
  const gib = memoryBudget({ maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 }, 2 * 2 ** 30); // 1 GiB in all

  test('refuses what does not fit, naming the setting; without a device, accepts it', () => {
    expect(problemsOf(HUGE_PPO)).toEqual([]);
    const problems = problemsOf(HUGE_PPO, { memory: gib, sampleRows, base });
    expect(problems.map((p) => p.field)).toEqual(['ppo.batchSize', 'ppo.batchSize']);
    expect(problems[0].message).toMatch(/^PPO needs 4096 MiB in one buffer for the logits of 1048576 tokens, this GPU allows 1024 MiB \(maxStorageBufferBindingSize\)$/);
    expect(problems[1].message).toBe("PPO needs 72009 MiB of GPU memory, this GPU allows 1024 MiB (half of this machine's 2.0 GiB); the most in a policy step: activations and gradients of 1048576 tokens, 71936 MiB");
  });

  test("counts pretraining only where it runs: not on tiny, whose base model is bundled, unless it is forced", () => {
    const large = { 'pretrain.batchSize': 1024 };
    const pretrainBytes = stageMemory('pretrain', makePipelineConfig('tiny', large), base, sampleRows).totalBytes;
    const others = Math.max(...(['sft', 'rm', 'ppo', 'bon', 'eval', 'dpo'] as const).map((s) => stageMemory(s, makePipelineConfig('tiny', large), base, sampleRows).totalBytes));
    expect(pretrainBytes).toBeGreaterThan(others);
    const between = { ...gib, totalBytes: (pretrainBytes + others) / 2 };
    expect(problemsOf({ task: 'sentiment', preset: 'tiny', overrides: large }, { memory: between, sampleRows, base })).toEqual([]);
    expect(problemsOf({ task: 'sentiment', preset: 'tiny', overrides: { ...large, 'pretrain.force': true } }, { memory: between, sampleRows, base }).map((p) => p.field)).toEqual(['pretrain.batchSize']);
  });

  test("a chosen base model's context length bounds the settings (the response length), as a preset's does", () => {
    const plenty = { ...gib, totalBytes: 64 * 2 ** 30 };
    const short = { ...base, contextLength: 8 }; // room for responses of at most 8 − 3 = 5 tokens
    const request: ConfigureRequest = { task: 'sentiment', preset: 'tiny', overrides: { 'ppo.maxResponseTokens': 6 } };
    expect(problemsOf(request, { memory: plenty, sampleRows, base: short, chosenBase: false })).toEqual([]); // the preset's context holds it
    const problems = problemsOf(request, { memory: plenty, sampleRows, base: short, chosenBase: true });
    expect(problems.map((p) => p.field)).toContain('ppo.maxResponseTokens');
    expect(problemsOf({ ...request, overrides: { 'ppo.maxResponseTokens': 5 } }, { memory: plenty, sampleRows, base: short, chosenBase: true }).map((p) => p.field)).not.toContain('ppo.maxResponseTokens');
  });

  test('the engine refuses it once init has the device (this machine\'s adapter), and accepted it before', async () => {
    const rec = recorder();
    const rt = await createNodeRuntime();
    const engine = createEngine(rec.post, { runtime: async () => rt, asset: async (path) => new Uint8Array(await readFile(join('public', path))) });
    try {
      await engine.handle({ type: 'configure', ...HUGE_PPO });
      expect(rec.of('pipeline-config')).toHaveLength(1); // no device yet: the run would check it
      await engine.handle({ type: 'init' });
      expect(rec.errors()).toEqual([]);
      const from = rec.mark;
      await engine.handle({ type: 'configure', ...HUGE_PPO });
      const [refused] = rec.of('error', from);
      expect(refused).toMatchObject({ kind: 'config', problems: [{ field: 'ppo.batchSize' }, { field: 'ppo.batchSize' }] });
      expect(refused.message).toMatch(/ppo\.batchSize: PPO needs \d+ MiB .*, this GPU allows \d+ MiB/);
      expect(rec.of('pipeline-config', from)).toEqual([]);
    } finally {
      rt.destroy();
    }
  });
});
