// Reward sources on the CPU (src/rlhf/reward-sources.ts, issue 15): the ensemble's combinations against hand-computed
// values and their defining properties; the instructions task's verifier (exactly gold's full-credit case) and which
// tasks have one; the one rewardSource setting every RL stage uses; the refusal of a source the task or the run cannot
// provide, naming its field (the configuration, the worker's configure); an ensemble's members in one checkpoint; the
// bootstrap resample; the page's mark of a gold-trained policy and the form adding the ensemble stage.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { joinMembers, loadCheckpoint, saveCheckpoint, splitMembers } from '../../src/model/checkpoint';
import { makeConfig } from '../../src/model/config';
import { initWeights } from '../../src/model/params';
import { makePipelineConfig, STAGE_SETTING_DOCS, taskProblems } from '../../src/rlhf/config';
import { combineEnsemble, ENSEMBLE_CHECKPOINT, memberSpread, REWARD_SOURCES, supportedRewardSources } from '../../src/rlhf/reward-sources';
import { CHECKPOINT_STAGE, DEFAULT_STAGES, GOLD_ORACLE_MARK, policyLabel, STAGE_REGISTRY } from '../../src/rlhf/stages';
import { bootstrapIndices } from '../../src/rlhf/stages/ensemble-run';
import { rewardSourceSetting } from '../../src/rlhf/stages/shared';
import { createTask, importTask } from '../../src/rlhf/tasks';
import { instructionAnswer, scoreAnswer, verifyAnswer } from '../../src/rlhf/tasks/instructions';
import { DEFAULT_FORM, formStages } from '../../src/store/config-form';
import { acceptConfiguration } from '../../src/worker/configure';
import { ConfigureError } from '../../src/worker/errors';

const instructions = createTask('instructions', { seed: 1 });
const sentiment = createTask('sentiment', { seed: 1 });
const custom = importTask({ prompts: ['{"prompt": "a"}', '{"prompt": "b"}', '{"prompt": "c"}'].join('\n') }, { seed: 1 });

describe('combineEnsemble', () => {
  // Three members scoring two rows: row 0 = (1, 2, 6): mean 3, min 1, population variance ((−2)² + (−1)² + 3²)/3 = 14/3;
  // row 1 = (−1, −1, −1): mean −1, min −1, variance 0.
  const scores = [
    [1, -1],
    [2, -1],
    [6, -1],
  ];

  test('mean, min (WCO) and mean − λ·population variance (UWO), hand-computed', () => {
    expect(Array.from(combineEnsemble(scores, 'mean'))).toEqual([3, -1]);
    expect(Array.from(combineEnsemble(scores, 'min'))).toEqual([1, -1]);
    const uwo = combineEnsemble(scores, 'uwo', 0.5);
    expect(uwo[0]).toBeCloseTo(3 - 0.5 * (14 / 3), 14); // divided by M = 3, not M − 1 = 2 (which would give −0.5)
    expect(uwo[1]).toBe(-1);
    expect(Array.from(combineEnsemble(scores, 'uwo', 0))).toEqual([3, -1]);
    expect(Array.from(memberSpread(scores))).toEqual([Math.sqrt(14 / 3), 0]);
  });

  test('properties: min ≤ uwo ≤ mean only for small λ, min ≤ mean always, identical members give their score', () => {
    const member = fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(fc.array(member, { minLength: 2, maxLength: 6 }), fc.double({ min: 0, max: 5, noNaN: true }), (members, lambda) => {
        const mean = combineEnsemble(members, 'mean');
        const min = combineEnsemble(members, 'min');
        const uwo = combineEnsemble(members, 'uwo', lambda);
        for (let r = 0; r < 3; r++) {
          expect(min[r]).toBeLessThanOrEqual(mean[r] + 1e-12);
          expect(uwo[r]).toBeLessThanOrEqual(mean[r] + 1e-12);
          expect(min[r]).toBe(Math.min(...members.map((m) => m[r])));
        }
        const same = combineEnsemble(members.map(() => members[0]), 'uwo', lambda);
        for (let r = 0; r < 3; r++) expect(same[r]).toBeCloseTo(members[0][r], 9);
      }),
      { seed: 15, numRuns: 200 },
    );
  });

  test('refuses no members, ragged members and a negative λ', () => {
    expect(() => combineEnsemble([], 'mean')).toThrow(/no members/);
    expect(() => combineEnsemble([[1, 2], [3]], 'mean')).toThrow(/different numbers of rows \(2, 1\)/);
    expect(() => combineEnsemble(scores, 'uwo', -1)).toThrow(/λ must be ≥ 0/);
  });
});

describe('the instructions task verifier', () => {
  test('1 exactly for the answer after trimming (the normalisation gold uses), 0 for anything else', () => {
    expect(verifyAnswer('etik', 'etik')).toBe(1);
    expect(verifyAnswer('etik', '  etik\n')).toBe(1);
    expect(verifyAnswer('etik', 'etic')).toBe(0); // gold gives 0.75
    expect(scoreAnswer('etik', 'etic')).toBe(0.75);
    expect(verifyAnswer('KITE', 'kite')).toBe(0); // case matters
    expect(verifyAnswer('7', '7 7')).toBe(0);
    expect(verifyAnswer('7', '')).toBe(0);
    expect(verifyAnswer('l s t y', 'l  s t y')).toBe(0); // inner whitespace is not normalised
  });

  test("the task's verifier is 1 exactly where its gold is 1, on the task's own prompts", () => {
    const prompts = [...instructions.prompts.train.slice(0, 40), ...instructions.prompts.heldout.slice(0, 40)];
    for (const p of prompts) {
      const answer = instructions.demonstrations.find((d) => d.prompt === p)?.completion ?? instructionAnswer(p);
      if (answer === undefined) continue;
      for (const response of [answer, ` ${answer} `, `${answer}x`, answer.slice(1), '', answer.toUpperCase()]) {
        expect(instructions.verifier!(p, response), `${p} → ${JSON.stringify(response)}`).toBe(instructions.gold!(p, response) === 1 ? 1 : 0);
      }
    }
    // Every demonstration is an exact answer.
    for (const d of instructions.demonstrations.slice(0, 50)) expect(instructions.verifier!(d.prompt, d.completion)).toBe(1);
  });

  test('only the instructions task has one; a prompt outside the task is refused', () => {
    expect(sentiment.verifier).toBeUndefined();
    expect(custom.verifier).toBeUndefined();
    expect(() => instructions.verifier!('sentiment: what a day', 'positive')).toThrow(/instructions verifier: .* is not a prompt of this task/);
    expect(supportedRewardSources(instructions)).toEqual(['rm', 'verifier', 'ensemble', 'gold']);
    expect(supportedRewardSources(sentiment)).toEqual(['rm', 'ensemble', 'gold']);
    expect(supportedRewardSources(custom)).toEqual(['rm', 'ensemble']);
  });
});

describe('the rewardSource setting', () => {
  test('one shared definition: rm by default, every source an option', () => {
    expect(rewardSourceSetting.options).toEqual(REWARD_SOURCES);
    expect(STAGE_SETTING_DOCS['ppo.rewardSource']).toBe(rewardSourceSetting);
    for (const preset of ['nano', 'tiny', 'small'] as const) expect(makePipelineConfig(preset).ppo.rewardSource).toBe('rm');
    expect(makePipelineConfig('nano', { 'ppo.rewardSource': 'verifier' }).ppo.rewardSource).toBe('verifier');
    expect(() => makePipelineConfig('nano', { 'ppo.rewardSource': 'oracle' })).toThrow(/ppo\.rewardSource: must be one of rm, verifier, ensemble, gold, got "oracle"/);
    // Every section with a rewardSource field documents it with the shared definition.
    const fields = Object.entries(STAGE_SETTING_DOCS).filter(([path]) => path.endsWith('.rewardSource'));
    expect(fields.length).toBeGreaterThanOrEqual(1);
    for (const [, doc] of fields) expect(doc).toBe(rewardSourceSetting);
  });

  test('the ensemble settings: 4 members, mean, λ = 0.5; at least 2 members', () => {
    expect(makePipelineConfig('tiny').ensemble).toEqual({ members: 4, combine: 'mean', lambda: 0.5 });
    expect(() => makePipelineConfig('nano', { 'ensemble.members': 1 })).toThrow(/ensemble\.members: must be an integer in \[2, 16\], got 1/);
    expect(() => makePipelineConfig('nano', { 'ensemble.combine': 'max' })).toThrow(/ensemble\.combine: must be one of mean, min, uwo/);
  });

  test('a source the task cannot provide is refused, naming the field', () => {
    const verifier = makePipelineConfig('nano', { 'ppo.rewardSource': 'verifier' });
    expect(taskProblems(verifier, sentiment)).toEqual([
      { field: 'ppo.rewardSource', message: 'the sentiment task has no verifier (no checkable exact answer): choose one of rm, ensemble, gold' },
    ]);
    expect(taskProblems(verifier, instructions)).toEqual([]);
    const gold = makePipelineConfig('nano', { 'ppo.rewardSource': 'gold' });
    expect(taskProblems(gold, custom)).toEqual([{ field: 'ppo.rewardSource', message: 'the custom task has no gold reward to use as an oracle: choose one of rm, ensemble' }]);
    expect(taskProblems(gold, sentiment)).toEqual([]);
  });

  test('pass@k (eval.passK) needs a verifier: refused on sentiment, naming the field; 0 is fine anywhere', () => {
    const passK = makePipelineConfig('nano', { 'eval.passK': 8 });
    expect(taskProblems(passK, sentiment)).toEqual([{ field: 'eval.passK', message: 'the sentiment task has no verifier (no checkable exact answer): pass@k counts exact answers, so it needs one — set it to 0' }]);
    expect(taskProblems(makePipelineConfig('nano', { 'eval.passK': 1 }), sentiment).map((p) => p.field)).toEqual(['eval.passK']); // pass@1 too
    expect(taskProblems(passK, instructions)).toEqual([]);
    expect(taskProblems(makePipelineConfig('nano'), sentiment)).toEqual([]);
  });

  test('an ensemble source needs the ensemble stage earlier in the run, or its checkpoint', () => {
    const c = makePipelineConfig('nano', { 'ppo.rewardSource': 'ensemble' });
    const problems = taskProblems(c, sentiment, { stages: ['sft', 'rm', 'ppo', 'eval'], checkpoints: [] });
    expect(problems).toEqual([
      { field: 'ppo.rewardSource', message: '"ensemble" scores with the reward-ensemble checkpoint, which this run neither has nor makes before PPO: add the ensemble stage (e.g. --stages sft,rm,ensemble,ppo,eval)' },
    ]);
    expect(taskProblems(c, sentiment, { stages: ['ppo', 'ensemble', 'rm', 'sft'], checkpoints: [] })).toEqual([]);
    expect(taskProblems(c, sentiment, { stages: ['ppo'], checkpoints: [ENSEMBLE_CHECKPOINT] })).toEqual([]);
    // A stage not in the run needs nothing.
    expect(taskProblems(c, sentiment, { stages: ['sft', 'rm'], checkpoints: [] })).toEqual([]);
  });

  test("the worker's configure refuses it with the field, beside every other problem", () => {
    const refused = (() => {
      try {
        acceptConfiguration({ task: 'sentiment', preset: 'nano', overrides: { 'ppo.rewardSource': 'verifier', 'ppo.clip': 7 } });
      } catch (e) {
        if (e instanceof ConfigureError) return e;
        throw e;
      }
      throw new Error('accepted');
    })();
    // The settings fail first (no configuration to check against the task); a valid one is checked against it.
    expect(refused.problems.map((p) => p.field)).toEqual(['ppo.clip']);
    expect(() => acceptConfiguration({ task: 'sentiment', preset: 'nano', overrides: { 'ppo.rewardSource': 'verifier' } })).toThrow(/ppo\.rewardSource: the sentiment task has no verifier/);
    expect(acceptConfiguration({ task: 'instructions', preset: 'nano', overrides: { 'ppo.rewardSource': 'verifier' } }).config.ppo.rewardSource).toBe('verifier');
  });
});

describe('the ensemble checkpoint', () => {
  const config = makeConfig('nano', { vocabSize: 40, dropout: 0 });
  const members = [initWeights(config, 1, 'score'), initWeights(config, 2, 'score'), initWeights(config, 3, 'score')];

  test('the ensemble stage writes it after the reward model, and is chosen, not run by default', () => {
    expect(CHECKPOINT_STAGE[ENSEMBLE_CHECKPOINT]).toBe('ensemble');
    const ids = STAGE_REGISTRY.map((s) => s.id);
    expect(ids.indexOf('ensemble')).toBe(ids.indexOf('rm') + 1);
    expect(DEFAULT_STAGES).not.toContain('ensemble');
  });

  test('every member in one safetensors file, member<i>/ names, read back exactly', () => {
    const bytes = saveCheckpoint(joinMembers(members), config, { tokenizer: 'x' });
    const c = loadCheckpoint(bytes, config);
    expect(c.members).toBe(3);
    expect(c.head).toBe('score');
    expect(c.metadata['rlhf_lab.members']).toBe('3');
    const back = splitMembers(c.weights);
    expect(back).toHaveLength(3);
    back.forEach((m, i) => {
      expect(Object.keys(m).sort()).toEqual(Object.keys(members[i]).sort());
      for (const [name, w] of Object.entries(members[i])) expect(Array.from(m[name]), `member ${i} ${name}`).toEqual(Array.from(w));
    });
    // A single model is as before: no member count.
    expect(loadCheckpoint(saveCheckpoint(members[0], config, undefined)).members).toBeUndefined();
  });

  test('refuses a member with a missing weight, mixed heads, a gap in the numbering and unprefixed weights', () => {
    const missing = joinMembers(members);
    delete missing['member1/wte'];
    expect(() => saveCheckpoint(missing, config, undefined)).toThrow(/weight member1\/wte is missing/);
    expect(() => saveCheckpoint(joinMembers([members[0], initWeights(config, 4)]), config, undefined)).toThrow(/the members have different heads/);
    const gap = Object.fromEntries(Object.entries(joinMembers(members)).filter(([k]) => !k.startsWith('member1/')));
    expect(() => saveCheckpoint(gap, config, undefined)).toThrow(/member 1 is missing/);
    expect(() => saveCheckpoint({ ...joinMembers(members), wte: members[0].wte }, config, undefined)).toThrow(/weight wte has no member<i>\/ prefix/);
  });

  test('bootstrap resamples: n draws with replacement, deterministic from the seed, different across seeds', () => {
    const a = bootstrapIndices(50, 7);
    expect(a).toHaveLength(50);
    expect(a.every((i) => Number.isInteger(i) && i >= 0 && i < 50)).toBe(true);
    expect(bootstrapIndices(50, 7)).toEqual(a);
    expect(bootstrapIndices(50, 8)).not.toEqual(a);
    // With replacement: about 1 − 1/e ≈ 63% of the rankings appear, so some twice.
    expect(new Set(a).size).toBeLessThan(50);
    expect(new Set(a).size).toBeGreaterThan(20);
  });
});

describe('the page', () => {
  test('a policy trained on the gold oracle is marked as the upper bound; others keep their names', () => {
    expect(GOLD_ORACLE_MARK).toBe('(gold oracle: upper bound)');
    expect(policyLabel('ppo', makePipelineConfig('nano', { 'ppo.rewardSource': 'gold' }))).toBe('PPO (gold oracle: upper bound)');
    expect(policyLabel('ppo', makePipelineConfig('nano'))).toBe('PPO');
    expect(policyLabel('ppo', undefined)).toBe('PPO');
    expect(policyLabel('dpo', makePipelineConfig('nano', { 'ppo.rewardSource': 'gold' }))).toBe('DPO');
    expect(policyLabel('sft', undefined)).toBe('SFT');
    expect(policyLabel('bon-4', undefined)).toBe('bon-4');
  });

  test("the form runs the ensemble stage when a stage's reward source is the ensemble", () => {
    expect(formStages({ ...DEFAULT_FORM, values: { 'ppo.rewardSource': 'ensemble' } })).toEqual(['pretrain', 'sft', 'rm', 'ensemble', 'ppo', 'bon', 'eval']);
    expect(formStages({ ...DEFAULT_FORM, values: { 'ppo.rewardSource': 'gold' } })).toBeUndefined();
    expect(formStages(DEFAULT_FORM)).toBeUndefined();
  });
});
