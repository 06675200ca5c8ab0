import { describe, expect, test } from 'vitest';
import { configProblems, makePipelineConfig, PIPELINE_PRESETS, PipelineConfigError } from '../../src/rlhf/config';

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
