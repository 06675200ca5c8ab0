// Best-of-N at nano scale (src/rlhf/best-of-n.ts, the bon stage in src/rlhf/stages/bon-run.ts): the pick is the
// reward model's favourite among the first N samples of each prompt's one pool, the curve over N is the mean of those
// picks, and the stage judges best-of-maxN against the pool's first sample (an SFT sample) by gold reward.
//
// The reward model is the hand-built first-token detector (tests/helpers/first-token-reward.ts) and the policy the nano
// GPT at its random initialisation, so a pool mixes the three kinds of proxy: ≈ REWARD (first token "a", ended),
// ≈ 0 (ended otherwise), the missing-EOS penalty −1 (cut at maxResponseTokens). A reward model whose scores tie (a
// pool that never ends, all −1) cannot tell the best sample from the worst.
import { describe, expect } from 'vitest';
import { mixSeed } from '../../src/model/data';
import { GPT } from '../../src/model/gpt';
import { initWeights } from '../../src/model/params';
import type { GpuRuntime } from '../../src/gpu';
import { bestOfN } from '../../src/rlhf/best-of-n';
import { makePipelineConfig } from '../../src/rlhf/config';
import { bestOfNKLBound, winRate } from '../../src/rlhf/math';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { Pipeline, type SampleRecord } from '../../src/rlhf/pipeline';
import { sampleResponses } from '../../src/rlhf/reward-model';
import type { Weights } from '../../src/rlhf/stages/context';
import type { Task } from '../../src/rlhf/tasks';
import { gpuTest } from '../helpers/gpu';
import { config, HELDOUT_PROMPTS, REWARD, rewardModelWeights, scoresOfIds, tok, TRAIN_PROMPTS } from '../helpers/first-token-reward';

const SEED = 1;
// maxN 8 rather than nano's 4: a larger pool, where N = 8 finds an "a" that N = 4 does not (the curve rises there).
const settings = makePipelineConfig('nano', { seed: SEED, 'bon.maxN': 8, 'bon.prompts': HELDOUT_PROMPTS.length });
const { maxN } = settings.bon;
const { maxResponseTokens, noEosPenalty } = settings.ppo;
/** The stage's sampling seed for the pool. */
const POOL_SEED = mixSeed(SEED, 61);

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

interface Pool {
  texts: string[][];
  /** Each sample's proxy: the reward model's score where the response ended, the missing-EOS penalty where not. */
  proxies: number[][];
}

/** The SFT policy (random weights) and the first-token reward model. */
async function models(rt: GpuRuntime): Promise<{ sft: Weights; rm: Weights }> {
  return { sft: initWeights(config, SEED), rm: await rewardModelWeights(rt) };
}

/** Each held-out prompt's pool of maxN samples, drawn here as best-of-N draws it (same policy, seed and settings). */
async function drawPool(rt: GpuRuntime, weights: { sft: Weights; rm: Weights }): Promise<Pool> {
  const sft = GPT.create(rt, config, { weights: weights.sft });
  const rm = GPT.create(rt, config, { weights: weights.rm, head: 'score' });
  try {
    const pool = await sampleResponses(sft, tok, HELDOUT_PROMPTS, maxN, { maxResponseTokens, temperature: 1, seed: POOL_SEED });
    const proxies: number[][] = [];
    for (const [p, prompt] of HELDOUT_PROMPTS.entries()) {
      const s = await scoresOfIds(rm, prompt, pool.ids[p]);
      proxies.push(s.map((x, i) => (pool.finished[p][i] ? x : noEosPenalty)));
    }
    // The spread the checks need: a prompt whose first sample is not its best (else best-of-N and single tie), and
    // some with a response that starts with "a" and ended (else N changes nothing at the top).
    expect(proxies.some((ps) => ps[0] < Math.max(...ps) - 0.5)).toBe(true);
    expect(proxies.some((ps) => ps.some((x) => x > REWARD - 0.1))).toBe(true);
    return { texts: pool.texts, proxies };
  } finally {
    sft.dispose();
    rm.dispose();
  }
}

/** A gold reward equal to the proxy: each pool sample's proxy, looked up by prompt and response text. */
function proxyAsGold(pool: Pool): (prompt: string, response: string) => number {
  const byText = new Map<string, number>();
  HELDOUT_PROMPTS.forEach((prompt, p) =>
    pool.texts[p].forEach((text, i) => {
      const key = JSON.stringify([prompt, text]);
      // One text sampled twice (e.g. EOS at once: "") must have one proxy, or the lookup would not be the proxy.
      if (byText.has(key)) expect(byText.get(key), key).toBe(pool.proxies[p][i]);
      byText.set(key, pool.proxies[p][i]);
    }),
  );
  return (prompt, response) => {
    const gold = byText.get(JSON.stringify([prompt, response]));
    if (gold === undefined) throw new Error(`proxyAsGold: ${JSON.stringify(response)} to ${prompt} is not in the pool`);
    return gold;
  };
}

/** The index of the first largest proxy among the first n samples. */
const argmax = (proxies: readonly number[], n: number) => proxies.slice(0, n).reduce((best, x, i) => (x > proxies[best] ? i : best), 0);

describe('best-of-N', () => {
  gpuTest('picks each prompt’s top proxy among the first N of its pool: the curve is the mean of those picks, rises with N, and N = 1 is the first sample', async ({ rt }) => {
    const weights = await models(rt);
    const pool = await drawPool(rt, weights);
    const sft = GPT.create(rt, config, { weights: weights.sft });
    const rm = GPT.create(rt, config, { weights: weights.rm, head: 'score' });
    const { points, chosen, single } = await bestOfN(sft, rm, tok, HELDOUT_PROMPTS, { maxN, maxResponseTokens, noEosPenalty, seed: POOL_SEED, gold: proxyAsGold(pool) }).finally(() => {
      sft.dispose();
      rm.dispose();
    });

    // The chosen response is the pool's top by proxy; single is the pool's first sample. Gold is the proxy here.
    HELDOUT_PROMPTS.forEach((prompt, p) => {
      const ps = pool.proxies[p];
      const best = argmax(ps, maxN);
      expect(chosen[p], prompt).toEqual({ prompt, response: pool.texts[p][best], proxy: ps[best], gold: ps[best] });
      expect(single[p], prompt).toEqual({ prompt, response: pool.texts[p][0], proxy: ps[0], gold: ps[0] });
    });

    // Each N's point: the mean over prompts of the top proxy among the first N samples, proxy and gold alike.
    expect(points.map((x) => x.n)).toEqual([1, 2, 4, 8]);
    for (const point of points) {
      const tops = pool.proxies.map((ps) => ps[argmax(ps, point.n)]);
      expect(point, `N = ${point.n}`).toEqual({ n: point.n, kl_bound: bestOfNKLBound(point.n), proxy: mean(tops), gold: mean(tops) });
    }
    // N = 1 is one SFT sample a prompt: the single samples' mean.
    expect(points[0].proxy).toBe(mean(single.map((s) => s.proxy)));
    // A longer prefix of the same pool never has a lower top, so the curve cannot fall with N; with this pool it rises
    // from N = 1 to maxN by more than half a reward point (the pool's spread).
    for (let i = 1; i < points.length; i++) expect(points[i].proxy, `N = ${points[i].n}`).toBeGreaterThanOrEqual(points[i - 1].proxy);
    expect(points.at(-1)!.proxy).toBeGreaterThan(points[0].proxy + 0.5);
  });

  gpuTest('the bon stage’s win rate is winRate(best-of-maxN’s gold, the first sample’s gold), above ½ when gold is the proxy', async ({ rt }) => {
    const weights = await models(rt);
    const pool = await drawPool(rt, weights);
    const task: Task = {
      id: 'first-token',
      title: 'first token "a"',
      description: 'Gold is the first-token reward model’s own proxy.',
      prompts: { train: TRAIN_PROMPTS, heldout: HELDOUT_PROMPTS },
      demonstrations: [],
      pretrainText: [],
      maxResponseTokens,
      gold: proxyAsGold(pool),
    };
    const records: MetricRecord[] = [];
    const samples: SampleRecord[] = [];
    const pipeline = new Pipeline(rt, settings, task, tok, { weights: weights.sft, config }, undefined, { metrics: (r) => records.push(r), samples: (s) => samples.push(...s) });
    Object.assign(pipeline.weights, { sft: weights.sft, 'reward-model': weights.rm });
    await pipeline.runStage('bon');

    // The samples are best-of-maxN's picks: each prompt's top gold (= proxy) of its pool.
    expect(samples.map((s) => [s.prompt, s.policy, s.gold])).toEqual(HELDOUT_PROMPTS.map((prompt, p) => [prompt, `bon-${maxN}`, Math.max(...pool.proxies[p])]));
    const want = winRate(
      samples.map((s) => s.gold!),
      pool.proxies.map((ps) => ps[0]),
    );
    // The pick is never worse than the first sample and better on some prompt: above ½ (swapped, it would be below).
    expect(want.winRate).toBeGreaterThan(0.5);
    expect(pipeline.summary.policies.bon).toMatchObject({ win_rate: want.winRate, win_ci: want.ci });
    expect(records.find((r) => 'bon/win_rate' in r)).toEqual({ stage: 'bon', step: maxN, 'bon/win_rate': want.winRate, 'bon/win_rate_lo': want.ci[0], 'bon/win_rate_hi': want.ci[1] });
  });
});
