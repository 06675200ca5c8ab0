import { describe, expect, test } from 'vitest';
import { USAGE } from '../../src/cli/pipeline';
import { PRESETS, type PresetName } from '../../src/model/config';
import { changedSettings, configProblems, makePipelineConfig, withNewSettings, type PipelineConfig, PIPELINE_PRESETS, PipelineConfigError, STAGE_SETTING_DOCS, stagesStillValid } from '../../src/rlhf/config';
import type { SettingDoc } from '../../src/rlhf/stages/types';

const PRESET_NAMES = Object.keys(PIPELINE_PRESETS) as PresetName[];

/** Every leaf of a configuration by dotted path, task and preset aside (an optional group that is on: its fields). */
function leafPaths(node: object, prefix = ''): string[] {
  return Object.entries(node).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    if (path === 'task' || path === 'preset') return [];
    return v !== null && typeof v === 'object' ? leafPaths(v, path) : [path];
  });
}

/** A preset with every optional group switched on at its defaults. */
function allOn(preset: PresetName): PipelineConfig {
  const on = Object.entries(STAGE_SETTING_DOCS).flatMap(([path, doc]) => (doc.kind === 'optional' ? Object.entries(doc.whenOn).map(([k, v]) => [`${path}.${k}`, v]) : []));
  return makePipelineConfig(preset, Object.fromEntries(on));
}

/** The problems of a preset with one setting changed (a PipelineConfigError's, or none). */
function problemsWith(preset: PresetName, path: string, value: unknown): { field: string; message: string }[] {
  try {
    makePipelineConfig(preset, { [path]: value });
    return [];
  } catch (e) {
    if (!(e instanceof PipelineConfigError)) throw e;
    return [...e.problems];
  }
}

/** Values just outside a documented setting's range (or not among its values). */
function outside(doc: SettingDoc, section: object, preset: PresetName): unknown[] {
  const nudge = (x: number) => 1e-6 * Math.max(1, Math.abs(x));
  switch (doc.kind) {
    case 'choice':
      return ['nope'];
    case 'boolean':
      return ['maybe'];
    case 'optional':
      return ['on'];
    case 'int': {
      const max = typeof doc.max === 'object' ? doc.max.of(section, PRESETS[preset]) : doc.max;
      return [doc.min - 1, doc.min + 0.5, ...(max === undefined ? [] : [max + 1])];
    }
    case 'number':
      return [doc.minOpen ? doc.min : doc.min - nudge(doc.min), doc.max + nudge(doc.max)];
  }
}

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
    // The preset is chosen by name, not overridden: a config labelled tiny with nano's settings would be a lie.
    expect(problemsWith('nano', 'preset', 'tiny')).toEqual([{ field: 'preset', message: 'is not a setting of the pipeline' }]);
  });

  test('the messages name the field and its range, bounds that follow another field or the preset included', () => {
    const messages = (preset: PresetName, overrides: Record<string, unknown>) => {
      try {
        makePipelineConfig(preset, overrides);
      } catch (e) {
        return (e as PipelineConfigError).problems.map((p) => `${p.field}: ${p.message}`);
      }
      return [];
    };
    expect(messages('nano', { 'ppo.clip': 7 })).toEqual(['ppo.clip: must be in (0, 1], got 7']);
    expect(messages('nano', { 'ppo.miniBatches': 3 })).toEqual(['ppo.miniBatches: must divide ppo.batchSize (8), got 3']);
    expect(messages('nano', { 'ppo.miniBatches': 16 })).toEqual(['ppo.miniBatches: must be an integer in [1, 8], got 16', 'ppo.miniBatches: must divide ppo.batchSize (8), got 16']);
    expect(messages('nano', { 'sft.seq': 33 })).toEqual(['sft.seq: must be an integer in [4, 32], got 33']);
    expect(messages('tiny', { 'ppo.maxResponseTokens': 126 })).toEqual(['ppo.maxResponseTokens: must be an integer in [1, 125], got 126']);
    expect(messages('nano', { 'ppo.emaDecay': 1 })).toEqual(['ppo.emaDecay: must be below 1, got 1']);
    expect(messages('nano', { 'ppo.adaptiveKL.target': -1 })).toEqual(['ppo.adaptiveKL.target: must be in (0, 1000], got -1']);
    expect(messages('nano', { 'ppo.adaptiveKL': 'on' })).toEqual(['ppo.adaptiveKL: set ppo.adaptiveKL.target and ppo.adaptiveKL.horizon, or "off"']);
    expect(messages('nano', { 'pretrain.force': 'yes', seed: -1 })).toEqual(['pretrain.force: needs true or false, got "yes"', 'seed: must be an integer in [0, 4294967295], got -1']);
  });
});

describe('a configuration saved before some settings existed', () => {
  test('gets its preset defaults for exactly the missing ones; what it has, nulls of switched-off groups included, stays', () => {
    const saved = structuredClone(makePipelineConfig('tiny', { 'grpo.lr': 1e-3, seed: 9 })) as unknown as Record<string, Record<string, unknown>>;
    delete saved.grpo.dynamicSampling;
    delete saved.ensemble;
    expect(saved.ppo.adaptiveKL).toBeNull();
    const { config, added } = withNewSettings(saved as unknown as PipelineConfig);
    expect(added).toEqual(['ensemble', 'grpo.dynamicSampling']);
    expect(config).toEqual(makePipelineConfig('tiny', { 'grpo.lr': 1e-3, seed: 9 }));
    expect(saved.grpo.dynamicSampling).toBeUndefined();
    expect(withNewSettings(makePipelineConfig('nano')).added).toEqual([]);
    const unknown = { ...makePipelineConfig('nano'), preset: 'huge' } as unknown as PipelineConfig;
    expect(withNewSettings(unknown)).toEqual({ config: unknown, added: [] });
  });
});

describe('the stages declare, document and check every setting', () => {
  test('every setting of every preset has a doc with a meaning, and its default passes its own check', () => {
    for (const preset of PRESET_NAMES) {
      const config = allOn(preset);
      const paths = leafPaths(config).filter((p) => p !== 'seed');
      // Documented: the settings, with an optional group besides its fields (it is switched off by its own path).
      const groups = Object.keys(STAGE_SETTING_DOCS).filter((p) => STAGE_SETTING_DOCS[p].kind === 'optional');
      expect(Object.keys(STAGE_SETTING_DOCS).sort(), preset).toEqual([...paths, ...groups].sort());
      for (const [path, doc] of Object.entries(STAGE_SETTING_DOCS)) expect(doc.meaning.length, path).toBeGreaterThan(10);
      expect(configProblems(config), preset).toEqual([]);
    }
  });

  test('a value just outside each documented range is refused, naming the field', () => {
    for (const preset of PRESET_NAMES) {
      for (const [path, doc] of Object.entries(STAGE_SETTING_DOCS)) {
        const section = PIPELINE_PRESETS[preset][path.split('.')[0] as 'ppo'];
        for (const value of outside(doc, section, preset)) expect(problemsWith(preset, path, value).map((p) => p.field), `${preset} ${path} = ${value}`).toContain(path);
      }
    }
  });

  test('--help lists every setting of the tiny preset with its meaning', () => {
    const lines = USAGE.split('\n').map((l) => l.trim());
    for (const path of [...leafPaths(allOn('tiny')).filter((p) => p !== 'seed'), 'ppo.adaptiveKL']) {
      expect(lines.some((l) => l.startsWith(`${path} `) && l.endsWith(`: ${STAGE_SETTING_DOCS[path].meaning}`)), path).toBe(true);
    }
    expect(USAGE).toMatch(/^ {2}ppo\.miniBatches +integer in \[1, ppo\.batchSize\]: /m);
    expect(USAGE).toMatch(/^ {2}pretrain\.force +true \| false: /m);
  });
});

describe('which stage outputs a change of settings leaves valid', () => {
  const before = makePipelineConfig('tiny');
  const valid = (overrides: Record<string, unknown>) => stagesStillValid(before, makePipelineConfig('tiny', overrides));

  test.each([
    ['nothing', {}, ['pretrain', 'sft', 'rm', 'ensemble', 'ppo', 'dpo', 'grpo', 'rloo']],
    ['best-of-N and evaluation only measure', { 'bon.maxN': 32, 'eval.prompts': 16 }, ['pretrain', 'sft', 'rm', 'ensemble', 'ppo', 'dpo', 'grpo', 'rloo']],
    ['β (the KL sweep)', { 'ppo.klCoef': 0 }, ['pretrain', 'sft', 'rm', 'ensemble', 'dpo', 'grpo', 'rloo']],
    ["the sweep's β = 0 run", { 'ppo.klCoef': 0, 'ppo.episodes': 1280, 'ppo.lr': 6e-4 }, ['pretrain', 'sft', 'rm', 'ensemble', 'dpo', 'grpo', 'rloo']],
    ['the adaptive KL controller switched on', { 'ppo.adaptiveKL.target': 4 }, ['pretrain', 'sft', 'rm', 'ensemble', 'dpo', 'grpo', 'rloo']],
    // DPO learns from the labels, not from the reward model: a reward-model setting leaves it valid. The ensemble's
    // members train with the reward model's settings.
    ['a reward-model setting', { 'rm.lr': 3e-4 }, ['pretrain', 'sft', 'dpo']],
    ["a DPO setting (PPO or IPO next to the same SFT and reward model)", { 'dpo.loss': 'ipo', 'dpo.beta': 0.3 }, ['pretrain', 'sft', 'rm', 'ensemble', 'ppo', 'grpo', 'rloo']],
    ['a GRPO setting (Dr. GRPO next to the same SFT, reward model, PPO, DPO and RLOO)', { 'grpo.beta': 0, 'grpo.lossType': 'dr_grpo', 'grpo.scaleRewards': 'none' }, ['pretrain', 'sft', 'rm', 'ensemble', 'ppo', 'dpo', 'rloo']],
    ["RLOO's k and reward source", { 'rloo.k': 2, 'rloo.episodes': 1280, 'rloo.rewardSource': 'gold' }, ['pretrain', 'sft', 'rm', 'ensemble', 'ppo', 'dpo', 'grpo']],
    // The run's response rule: PPO, GRPO and RLOO score a response without EOS by it (DPO only reports with it).
    ['the missing-EOS penalty', { 'ppo.noEosPenalty': -2 }, ['pretrain', 'sft', 'rm', 'ensemble', 'dpo']],
    // PPO, GRPO and RLOO may score with the ensemble (<stage>.rewardSource): a change of it is a change of their reward.
    // How the members combine is read by those stages, not by the members' training: the ensemble itself is kept.
    ['how the ensemble combines', { 'ensemble.combine': 'min', 'ensemble.lambda': 2 }, ['pretrain', 'sft', 'rm', 'ensemble', 'dpo']],
    ['the number of ensemble members', { 'ensemble.members': 3 }, ['pretrain', 'sft', 'rm', 'dpo']],
    ["PPO's reward source", { 'ppo.rewardSource': 'gold' }, ['pretrain', 'sft', 'rm', 'ensemble', 'dpo', 'grpo', 'rloo']],
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
