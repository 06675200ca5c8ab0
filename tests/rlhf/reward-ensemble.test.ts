// Reward sources on the GPU at nano scale (issue 15): the reward-model ensemble stage (members on bootstrap resamples,
// each and the ensemble measured on the held-out rankings, all members in one checkpoint), the ensemble as a reward
// source (its combination of the members' own scores, by the run's ensemble.combine and ensemble.lambda), PPO scoring
// with the ensemble, the verifier and the gold oracle (ppo.rewardSource), GRPO and RLOO scoring with the source their
// rewardSource names, GRPO's dynamic sampling in the stage (grpo.dynamicSampling), the evaluation's exact-answer rates,
// and the refusal of a source the run cannot provide.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { main } from '../../src/cli/pipeline';
import { joinMembers, loadCheckpoint, splitMembers } from '../../src/model/checkpoint';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { makeConfig } from '../../src/model/config';
import { mixSeed } from '../../src/model/data';
import { GPT } from '../../src/model/gpt';
import { initWeights } from '../../src/model/params';
import type { GpuRuntime } from '../../src/gpu';
import { makePipelineConfig, PipelineConfigError } from '../../src/rlhf/config';
import { lastTokenScores } from '../../src/rlhf/forward';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { Pipeline, type SampleRecord } from '../../src/rlhf/pipeline';
import type { Episode } from '../../src/rlhf/episode';
import { packRankings, rankingAgreement, sampleResponses } from '../../src/rlhf/reward-model';
import { combineEnsemble, ENSEMBLE_CHECKPOINT, ensembleSource, memberSpread } from '../../src/rlhf/reward-sources';
import type { Weights } from '../../src/rlhf/stages/context';
import { openRewardSource } from '../../src/rlhf/stages/reward-source';
import { createTask, type Task } from '../../src/rlhf/tasks';
import { gpuTest } from '../helpers/gpu';

const task = createTask('instructions', { seed: 1, maxResponseTokens: 6 });
const tok = CharTokenizer.fromText([...task.prompts.train, ...task.prompts.heldout, ...task.demonstrations.map((d) => d.completion)].join('\n'));
const model = makeConfig('nano', { vocabSize: tok.vocabSize, dropout: 0 });
/**
 * Imported rankings of the task's own prompts, best → worst by gold: the exact answer, the answer with a letter too
 * many, half of it, something unrelated (a random SFT policy's samples would all score 0: ties the labelers cannot rank).
 */
const labelled: Task = {
  ...task,
  preferences: task.demonstrations.slice(0, 20).map((d) => ({ prompt: d.prompt, completions: [d.completion, `${d.completion}x`, `${d.completion.slice(0, 1)}qq`, 'zzzzz'], source: 'imported' as const })),
};
const QUICK = { seed: 5, 'ppo.maxResponseTokens': 6, 'ppo.batchSize': 4, 'ppo.miniBatches': 2, 'ppo.episodes': 4, 'eval.prompts': 6, 'ensemble.members': 3 };

interface Run {
  pipeline: Pipeline;
  records: MetricRecord[];
  checkpoints: Map<string, Uint8Array>;
  episodes: Episode[];
  samples: SampleRecord[];
}

/** A pipeline on the nano model with `overrides`, starting from `weights` (an SFT model of random weights by default). */
function pipelineOf(rt: GpuRuntime, overrides: Record<string, unknown>, weights: Record<string, Weights | undefined> = {}, t: Task = labelled): Run {
  const run: Run = { records: [], checkpoints: new Map(), episodes: [], samples: [] } as unknown as Run;
  const config = makePipelineConfig('nano', { ...QUICK, ...overrides });
  run.pipeline = new Pipeline(rt, config, t, tok, { weights: initWeights(model, 1), config: model }, undefined, {
    metrics: (r) => run.records.push(r),
    checkpoint: (name, bytes) => run.checkpoints.set(name, bytes),
    episodes: (_stage, _iteration, e) => run.episodes.push(...e),
    samples: (s) => run.samples.push(...s),
  });
  run.pipeline.weights.sft = initWeights(model, 1);
  Object.assign(run.pipeline.weights, weights);
  return run;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const differs = (a: Float32Array, b: Float32Array) => a.some((x, i) => x !== b[i]);
/** A reward model of random weights, for the stages that need one (the proxy score, or the source). */
const rm = () => ({ 'reward-model': initWeights(model, 2, 'score') });
/** A verifier that accepts responses of even length, so both verdicts occur in a batch of random responses. */
const lenient: Task = { ...labelled, verifier: (_p, r) => (r.length % 2 === 0 ? 1 : 0) };

/**
 * Every episode's training reward is `reward` of its prompt and response, or the missing-EOS penalty where it did not
 * finish; some finished, or the check could not tell one source from another.
 */
function expectScoredBy(run: Run, reward: (prompt: string, response: string) => number): void {
  expect(run.episodes.filter((e) => e.finished).length).toBeGreaterThan(0);
  for (const e of run.episodes) expect(e.score, JSON.stringify(e.response)).toBe(e.finished ? reward(e.prompt, e.response) : run.pipeline.config.ppo.noEosPenalty);
}

describe('the reward-model ensemble stage', () => {
  let trained: Record<string, Weights | undefined>;

  gpuTest('trains its members on bootstrap resamples, reports each one’s and the ensemble’s held-out accuracy, and keeps them in one checkpoint', { timeout: 300_000 }, async ({ rt }) => {
    const run = pipelineOf(rt, {});
    await run.pipeline.runStage('rm');
    await run.pipeline.runStage('ensemble');
    trained = { ...run.pipeline.weights };

    // One checkpoint holding the 3 members, each a reward model (score head).
    const file = loadCheckpoint(run.checkpoints.get(ENSEMBLE_CHECKPOINT)!, run.pipeline.modelConfig);
    expect(file.members).toBe(3);
    expect(file.head).toBe('score');
    const members = splitMembers(run.pipeline.weights[ENSEMBLE_CHECKPOINT]!);
    expect(members).toHaveLength(3);
    // The members differ from each other and from the reward model: own head seeds, own resamples.
    const rm = run.pipeline.weights['reward-model']!;
    for (let i = 0; i < 3; i++) {
      expect(differs(members[i]['score.weight'], rm['score.weight']), `member ${i} vs the reward model`).toBe(true);
      for (let j = i + 1; j < 3; j++) {
        expect(differs(members[i]['score.weight'], members[j]['score.weight']), `members ${i}, ${j}: head`).toBe(true);
        expect(differs(members[i]['h.0.attn.c_attn.weight'], members[j]['h.0.attn.c_attn.weight']), `members ${i}, ${j}: trained trunk`).toBe(true);
      }
    }

    // Per-step records of each member in turn, then one held-out accuracy per member, then the ensemble's.
    const own = run.records.filter((r) => r.stage === 'ensemble');
    const steps = own.filter((r) => 'ensemble/loss' in r);
    expect(new Set(steps.map((r) => r['ensemble/member']))).toEqual(new Set([0, 1, 2]));
    expect(steps.map((r) => r.step)).toEqual(steps.map((_, i) => i));
    for (const r of steps) expect(r['ensemble/loss']).toBeGreaterThan(0);
    const memberAcc = own.filter((r) => 'ensemble/member_accuracy' in r).map((r) => r['ensemble/member_accuracy']!);
    expect(memberAcc).toHaveLength(3);
    const final = own.at(-1)!;
    expect(final['ensemble/member_accuracy_min']).toBe(Math.min(...memberAcc));
    expect(final['ensemble/member_accuracy_max']).toBe(Math.max(...memberAcc));
    expect(final['ensemble/accuracy']).toBeGreaterThanOrEqual(0);
    expect(final['ensemble/accuracy']).toBeLessThanOrEqual(1);
    expect(final['ensemble/disagreement']).toBeGreaterThan(0);
    expect(Number.isFinite(final['ensemble/gold_agreement'])).toBe(true);
    expect(run.pipeline.summary.ensemble).toEqual({
      members: 3,
      combine: 'mean',
      lambda: 0.5,
      heldout_accuracy: final['ensemble/accuracy'],
      member_heldout_accuracy: memberAcc,
      gold_agreement: final['ensemble/gold_agreement'],
      disagreement: final['ensemble/disagreement'],
    });

    // The ensemble's held-out accuracy again, from the saved members' mean score of the held-out rankings.
    const { heldout } = run.pipeline.rankings!;
    const models = members.map((m) => GPT.create(rt, run.pipeline.modelConfig, { weights: m, head: 'score' }));
    const source = ensembleSource(models, 'mean', 0);
    try {
      const { batch, offsets } = packRankings(tok, heldout, 6, model.contextLength);
      const combined = await source.score({ batch, prompts: [], responses: [] });
      const grouped = heldout.map((_, g) => Array.from(combined.subarray(offsets[g], offsets[g + 1])));
      expect(rankingAgreement(grouped, heldout).accuracy).toBeCloseTo(final['ensemble/accuracy']!, 12);
    } finally {
      source.dispose();
    }
  });

  gpuTest('as a reward source it combines the members’ own scores of each row: mean, min, mean − λ·variance', async ({ rt }) => {
    const members = splitMembers(trained[ENSEMBLE_CHECKPOINT]!);
    const rankings = createTask('instructions', { seed: 2 }).demonstrations.slice(0, 5).map((d) => ({ prompt: d.prompt, completions: [d.completion, 'x'], source: 'imported' as const }));
    const { batch } = packRankings(tok, rankings, 6, model.contextLength);
    const models = members.map((m) => GPT.create(rt, model, { weights: m, head: 'score' }));
    try {
      const own: Float64Array[] = [];
      for (const m of models) own.push(await lastTokenScores(m, batch));
      for (const [combine, lambda] of [['mean', 0], ['min', 0], ['uwo', 2]] as const) {
        const got = await ensembleSource(models, combine, lambda).score({ batch, prompts: [], responses: [] });
        expect(Array.from(got), combine).toEqual(Array.from(combineEnsemble(own, combine, lambda)));
      }
      // Not all the same: the members disagree, so min < mean somewhere.
      expect(Array.from(combineEnsemble(own, 'min')).some((x, i) => x < combineEnsemble(own, 'mean')[i])).toBe(true);
    } finally {
      models.forEach((m) => m.dispose());
    }
  });

  gpuTest('the source a stage opens for rewardSource "ensemble" combines its members by ensemble.combine and ensemble.lambda', async ({ rt }) => {
    // Three reward models of random weights, each its own seed: they disagree on every row.
    const members = [11, 12, 13].map((seed) => initWeights(model, seed, 'score'));
    const rankings = createTask('instructions', { seed: 2 }).demonstrations.slice(0, 5).map((d) => ({ prompt: d.prompt, completions: [d.completion, 'x'], source: 'imported' as const }));
    const { batch } = packRankings(tok, rankings, 6, model.contextLength);
    const own: Float64Array[] = [];
    for (const weights of members) {
      const m = GPT.create(rt, model, { weights, head: 'score' });
      own.push(await lastTokenScores(m, batch));
      m.dispose();
    }
    // The combinations differ on every row (min < mean, and UWO's λ matters), so a source that ignored the setting shows.
    expect(Array.from(memberSpread(own)).every((s) => s > 1e-3)).toBe(true);
    const byMean = combineEnsemble(own, 'mean');
    // λ = 2 and 0.25, not the default 0.5.
    for (const [combine, lambda] of [['min', 2], ['uwo', 2], ['uwo', 0.25], ['mean', 2]] as const) {
      const run = pipelineOf(rt, { 'ensemble.combine': combine, 'ensemble.lambda': lambda }, { [ENSEMBLE_CHECKPOINT]: joinMembers(members) });
      const source = openRewardSource(run.pipeline, 'test', 'ensemble');
      try {
        const got = await source.score({ batch, prompts: [], responses: [] });
        const want = combineEnsemble(own, combine, lambda);
        expect(Array.from(got), `${combine}, λ = ${lambda}`).toEqual(Array.from(want));
        if (combine !== 'mean') expect(want.every((x, i) => x < byMean[i] - 1e-6), `${combine}, λ = ${lambda} below the mean`).toBe(true);
      } finally {
        source.dispose();
      }
    }
  });

  gpuTest('PPO scores with the ensemble when ppo.rewardSource is "ensemble"', { timeout: 120_000 }, async ({ rt }) => {
    const run = pipelineOf(rt, { 'ppo.rewardSource': 'ensemble', 'ensemble.combine': 'min' }, trained);
    await run.pipeline.run(['ppo']);
    const ppo = run.records.filter((r) => r.stage === 'ppo');
    expect(ppo).toHaveLength(1);
    expect(Number.isFinite(ppo[0]['objective/scores'])).toBe(true);
    expect(run.episodes).toHaveLength(4);
  });
});

describe('PPO with the verifier or the gold oracle as its reward', () => {
  gpuTest('the verifier: each finished response earns exactly the task’s verdict, 1 or 0', { timeout: 120_000 }, async ({ rt }) => {
    const run = pipelineOf(rt, { 'ppo.rewardSource': 'verifier', 'ppo.episodes': 8 }, rm(), lenient);
    await run.pipeline.runStage('ppo');
    expect(run.episodes).toHaveLength(8);
    expectScoredBy(run, lenient.verifier!);
    const ppo = run.records.filter((r) => r.stage === 'ppo');
    // objective/scores is the source's own mean, before the missing-EOS penalty.
    ppo.forEach((r, it) => expect(r['objective/scores']).toBeCloseTo(mean(run.episodes.slice(it * 4, it * 4 + 4).map((e) => lenient.verifier!(e.prompt, e.response))), 12));
  });

  gpuTest('the gold oracle: each finished response earns its gold reward, as objective/gold reports', { timeout: 120_000 }, async ({ rt }) => {
    const run = pipelineOf(rt, { 'ppo.rewardSource': 'gold' }, rm());
    await run.pipeline.runStage('ppo');
    for (const e of run.episodes) expect(e.gold).toBe(task.gold!(e.prompt, e.response));
    expectScoredBy(run, task.gold!);
  });

  gpuTest('a source the run cannot provide is refused before anything runs, naming the field', async ({ rt }) => {
    const ensemble = pipelineOf(rt, { 'ppo.rewardSource': 'ensemble' }, rm());
    const allocations = rt.buffers.stats.allocations;
    const error = await ensemble.pipeline.run(['ppo']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineConfigError);
    expect((error as PipelineConfigError).problems).toEqual([
      { field: 'ppo.rewardSource', message: '"ensemble" scores with the reward-ensemble checkpoint, which this run neither has nor makes before PPO: add the ensemble stage (e.g. --stages sft,rm,ensemble,ppo,eval)' },
    ]);
    expect(rt.buffers.stats.allocations).toBe(allocations);
    // Run alone, the stage says the same.
    await expect(ensemble.pipeline.runStage('ppo')).rejects.toThrow('PPO: rewardSource "ensemble" needs the reward-ensemble checkpoint — add the ensemble stage before it');
    const sentiment = createTask('sentiment', { seed: 1, maxResponseTokens: 6 });
    const verifier = pipelineOf(rt, { 'ppo.rewardSource': 'verifier' }, rm(), sentiment);
    await expect(verifier.pipeline.run(['ppo'])).rejects.toThrow(/ppo\.rewardSource: the sentiment task has no verifier/);
  });
});

describe('GRPO and RLOO: the reward source their rewardSource names', () => {
  gpuTest.for(['grpo', 'rloo'] as const)('%s: each finished completion earns the verifier’s verdict, or its gold reward, not the reward model’s score', { timeout: 180_000 }, async (stage, { rt }) => {
    for (const [source, reward] of [
      ['verifier', lenient.verifier!],
      ['gold', lenient.gold!],
    ] as const) {
      // Responses of up to 16 tokens: the random policy ends a few of them (with EOS), which the check needs.
      const run = pipelineOf(rt, { [`${stage}.rewardSource`]: source, 'ppo.maxResponseTokens': 16 }, rm(), lenient);
      await run.pipeline.runStage(stage);
      expect(run.episodes, source).toHaveLength(16);
      expectScoredBy(run, reward);
      // Both verdicts (different gold rewards) among the finished ones: no constant passes for the source.
      expect(new Set(run.episodes.filter((e) => e.finished).map((e) => e.score)).size, source).toBeGreaterThan(1);
    }
  });

  gpuTest('GRPO’s dynamic sampling (grpo.dynamicSampling): extra rounds up to the cap, reported as sampling/rounds and sampling/groups_drawn; none at 0', { timeout: 180_000 }, async ({ rt }) => {
    const P = 2; // nano's grpo.promptsPerIteration
    // Every completion scores 0, finished or not: no group ever has a spread, so every iteration takes all its rounds.
    const grpo = async (dynamicSampling: number) => {
      const run = pipelineOf(rt, { 'grpo.rewardSource': 'verifier', 'grpo.dynamicSampling': dynamicSampling, 'ppo.noEosPenalty': 0 }, rm(), { ...labelled, verifier: () => 0 });
      await run.pipeline.runStage('grpo');
      expect(run.episodes).toHaveLength(16);
      return run.records.filter((r) => r.stage === 'grpo');
    };
    for (const rounds of [2, 1]) {
      const records = await grpo(rounds);
      expect(records, `${rounds} rounds`).toHaveLength(2);
      // Each extra round draws the P groups the batch still lacks.
      for (const r of records) expect(r, `${rounds} rounds`).toMatchObject({ 'sampling/rounds': rounds, 'sampling/groups_drawn': (rounds + 1) * P, frac_reward_zero_std: 1 });
    }
    const off = await grpo(0);
    expect(off).toHaveLength(2);
    for (const r of off) expect(Object.keys(r).filter((k) => k.startsWith('sampling/'))).toEqual([]);
  });
});

describe('the exact-answer rate', () => {
  gpuTest('evaluation reports it for SFT and every policy where the task has a verifier (summary and metrics), and not where it has none', { timeout: 180_000 }, async ({ rt }) => {
    const weights = { 'reward-model': initWeights(model, 2, 'score'), ppo: initWeights(model, 3) };
    const run = pipelineOf(rt, {}, weights, lenient);
    await run.pipeline.runStage('eval');
    const rate = (policy: string) => mean(run.samples.filter((s) => s.policy === policy).map((s) => lenient.verifier!(s.prompt, s.response)));
    const { policies } = run.pipeline.summary;
    expect(run.samples.filter((s) => s.policy === 'sft')).toHaveLength(6);
    expect(policies.sft.verifier_rate).toBe(rate('sft'));
    expect(policies.ppo.verifier_rate).toBe(rate('ppo'));
    expect(policies.sft).toMatchObject({ win_rate: null, kl: 0 });
    const record = run.records.find((r) => r.stage === 'eval')!;
    expect(record['eval/verifier_rate_sft']).toBe(rate('sft'));
    expect(record['eval/verifier_rate_ppo']).toBe(rate('ppo'));
    // Random responses: some even, some odd — a rate strictly between 0 and 1 somewhere, so the check has teeth.
    expect([rate('sft'), rate('ppo')].some((r) => r > 0 && r < 1)).toBe(true);

    const sentiment = pipelineOf(rt, {}, weights, createTask('sentiment', { seed: 1, maxResponseTokens: 6 }));
    await sentiment.pipeline.runStage('eval');
    expect(Object.keys(sentiment.pipeline.summary.policies)).toEqual(['ppo']);
    expect(sentiment.pipeline.summary.policies.ppo.verifier_rate).toBeUndefined();
    expect(Object.keys(sentiment.records.find((r) => r.stage === 'eval')!).filter((k) => k.includes('verifier'))).toEqual([]);
    // eval.passK is 0 by default: no pass@k.
    expect(Object.keys(record).filter((k) => k.includes('pass_at'))).toEqual([]);
    expect(policies.ppo.pass_at_k).toBeUndefined();
  });

  gpuTest('eval.passK = k: pass@k and pass@1 over k more samples a prompt, for SFT and every policy, as recomputed from those samples', { timeout: 180_000 }, async ({ rt }) => {
    const weights = { 'reward-model': initWeights(model, 2, 'score'), ppo: initWeights(model, 3) };
    const k = 3;
    const run = pipelineOf(rt, { 'eval.passK': k }, weights, lenient);
    await run.pipeline.runStage('eval');
    const { policies } = run.pipeline.summary;
    const record = run.records.find((r) => r.stage === 'eval')!;
    const prompts = lenient.prompts.heldout.slice(0, run.pipeline.config.eval.prompts);
    for (const policy of ['sft', 'ppo'] as const) {
      // The same draw, made here: k samples a prompt at temperature 1 with the evaluation's pass@k seed.
      const gpt = GPT.create(rt, model, { weights: run.pipeline.weights[policy]! });
      const s = await sampleResponses(gpt, tok, prompts, k, { maxResponseTokens: QUICK['ppo.maxResponseTokens'], temperature: 1, seed: mixSeed(QUICK.seed, 73) });
      gpt.dispose();
      const exact = s.texts.map((answers, i) => answers.map((a) => lenient.verifier!(prompts[i], a)));
      const passK = mean(exact.map((e) => Math.max(...e)));
      const pass1 = mean(exact.map(mean));
      expect(policies[policy]).toMatchObject({ pass_at_k: passK, pass_at_1: pass1 });
      expect([record[`eval/pass_at_k_${policy}`], record[`eval/pass_at_1_${policy}`]]).toEqual([passK, pass1]);
      // Random responses: some prompts get an exact answer among k and some answers miss, so pass@k > pass@1 here.
      expect(passK).toBeGreaterThan(pass1);
      expect(pass1).toBeGreaterThan(0);
    }
  });
});

describe('the command line', () => {
  test('--set ppo.rewardSource=verifier on sentiment is a usage error naming the field (exit 2)', async () => {
    const errors: string[] = [];
    const code = await main(['--preset', 'nano', '--task', 'sentiment', '--stages', 'ppo', '--out', join(mkdtempSync(join(tmpdir(), 'reward-source-')), 'out'), '--set', 'ppo.rewardSource=verifier'], () => {}, (l) => errors.push(l));
    expect(code).toBe(2);
    expect(errors.join('\n')).toMatch(/^invalid pipeline configuration: ppo\.rewardSource: the sentiment task has no verifier \(no checkable exact answer\): choose one of rm, ensemble, gold/);
    expect(errors.join('\n')).toMatch(/ppo\.rewardSource +rm \| verifier \| ensemble \| gold: where the reward comes from/);
  });
});
