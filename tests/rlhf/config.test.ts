import { describe, expect, test } from 'vitest';
import { changedSettings, configProblems, makePipelineConfig, type PipelineConfig, PIPELINE_PRESETS, PipelineConfigError, stagesStillValid } from '../../src/rlhf/config';

describe('pipeline configuration', () => {
  test('every preset is valid, frozen, and follows the recipe where it is not about size', () => {
    for (const [name, c] of Object.entries(PIPELINE_PRESETS)) {
      expect(configProblems(c), name).toEqual([]);
      expect(Object.isFrozen(c) && Object.isFrozen(c.ppo)).toBe(true);
      expect(c.ppo).toMatchObject({ gamma: 1, lambda: 0.95, clip: 0.2, emaDecay: 0.992 });
      expect(c.rm.epochs).toBe(1);
      expect(c.labels.k).toBeGreaterThanOrEqual(4);
      expect(c.ppo.episodes % c.ppo.batchSize).toBe(0);
    }
  });

  test('overrides by dotted path, parsed like the field they replace', () => {
    const c = makePipelineConfig('tiny', { 'ppo.klCoef': '0', 'ppo.klEstimator': 'k3', seed: 9, 'ppo.adaptiveKL.target': '4' });
    expect(c.ppo.klCoef).toBe(0);
    expect(c.ppo.klEstimator).toBe('k3');
    expect(c.seed).toBe(9);
    expect(c.ppo.adaptiveKL).toEqual({ target: 4, horizon: 10000 });
    expect(PIPELINE_PRESETS.tiny.ppo.klCoef).toBe(0.05); // the preset itself is untouched
    expect(makePipelineConfig('tiny', { 'ppo.adaptiveKL': 'off' }).ppo.adaptiveKL).toBeNull();
  });

  test('every bad field is named, with all problems in one error', () => {
    let error: unknown;
    try {
      makePipelineConfig('nano', { 'ppo.clip': '2', 'ppo.batchSize': '5', 'labels.k': '12', 'ppo.nope': '1', 'sft.lr': 'fast' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PipelineConfigError);
    const fields = (error as PipelineConfigError).problems.map((p) => p.field);
    expect(fields).toEqual(expect.arrayContaining(['ppo.clip', 'ppo.miniBatches', 'labels.k', 'ppo.nope', 'sft.lr', 'ppo.episodes']));
    expect((error as Error).message).toMatch(/labels\.k: must be an integer in \[4, 9\], got 12/);
    expect(() => makePipelineConfig('huge' as 'nano')).toThrow(/preset: must be one of nano, tiny, small/);
  });
});

describe('which stage outputs a change of settings leaves valid', () => {
  const before = makePipelineConfig('tiny');
  const valid = (overrides: Record<string, unknown>) => stagesStillValid(before, makePipelineConfig('tiny', overrides));

  test.each([
    ['nothing', {}, ['pretrain', 'sft', 'rm', 'ppo', 'dpo']],
    ['best-of-N and evaluation only measure', { 'bon.maxN': 32, 'eval.prompts': 16 }, ['pretrain', 'sft', 'rm', 'ppo', 'dpo']],
    ['β (the KL sweep)', { 'ppo.klCoef': 0 }, ['pretrain', 'sft', 'rm', 'dpo']],
    ["the sweep's β = 0 run", { 'ppo.klCoef': 0, 'ppo.episodes': 1280, 'ppo.lr': 6e-4 }, ['pretrain', 'sft', 'rm', 'dpo']],
    ['the adaptive KL controller switched on', { 'ppo.adaptiveKL.target': 4 }, ['pretrain', 'sft', 'rm', 'dpo']],
    // DPO learns from the labels, not from the reward model: a reward-model setting leaves it valid.
    ['a reward-model setting', { 'rm.lr': 3e-4 }, ['pretrain', 'sft', 'dpo']],
    ["a DPO setting (PPO or IPO next to the same SFT and reward model)", { 'dpo.loss': 'ipo', 'dpo.beta': 0.3 }, ['pretrain', 'sft', 'rm', 'ppo']],
    ["the labelers' settings", { 'labels.k': 4 }, ['pretrain', 'sft']],
    ['an SFT setting', { 'sft.lr': 1e-3 }, ['pretrain']],
    ['an SFT setting and β', { 'sft.steps': 10, 'ppo.klCoef': 0.2 }, ['pretrain']],
    ['the response length (the task, the labels and the reward model read it)', { 'ppo.maxResponseTokens': 16 }, []],
    ['pretraining', { 'pretrain.force': true }, []],
    ['the seed', { seed: 2 }, []],
    ['the task', { task: 'instructions' }, []],
  ])('%s', (_, overrides, expected) => {
    expect(valid(overrides)).toEqual(expected);
  });

  test('another preset keeps nothing; a setting the rule does not know invalidates everything', () => {
    expect(stagesStillValid(before, makePipelineConfig('nano'))).toEqual([]);
    const unknown = { ...before, ppo: { ...before.ppo }, future: { knob: 1 } } as unknown as PipelineConfig;
    expect(stagesStillValid(before, unknown)).toEqual([]);
  });

  test('changedSettings names the single settings that differ', () => {
    expect(changedSettings(before, before)).toEqual([]);
    const after = makePipelineConfig('tiny', { 'ppo.klCoef': 0, 'bon.maxN': 4, seed: 3 });
    expect(changedSettings(before, after).sort()).toEqual(['bon.maxN', 'ppo.klCoef', 'seed']);
    expect(changedSettings(before, makePipelineConfig('tiny', { 'ppo.adaptiveKL.target': 4 }))).toEqual(['ppo.adaptiveKL']);
  });
});
