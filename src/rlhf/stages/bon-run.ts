// Best-of-N from the SFT policy with the reward model, N = 1, 2, 4, …, maxN, on held-out prompts.
import { mixSeed } from '../../model/data';
import { bestOfN } from '../best-of-n';
import { winRate } from '../math';
import type { MetricRecord } from '../metrics';
import type { PolicyEvaluation } from '../pipeline';
import type { StageContext } from './context';

export async function runBestOfN(ctx: StageContext): Promise<void> {
  const sft = ctx.need('sft', 'best-of-N');
  const rmWeights = ctx.need('reward-model', 'best-of-N');
  const { bon, seed } = ctx.config;
  const policy = ctx.model(sft);
  const rm = ctx.model(rmWeights, 'score');
  try {
    const prompts = ctx.task.prompts.heldout.slice(0, bon.prompts);
    const result = await bestOfN(policy, rm, ctx.tokenizer, prompts, { maxN: bon.maxN, ...ctx.rules, seed: mixSeed(seed, 61), gold: ctx.task.gold });
    ctx.summary.bon = result.points;
    for (const p of result.points) {
      const record: MetricRecord = { stage: 'bon', step: p.n, 'bon/proxy': p.proxy, 'bon/kl_bound': p.kl_bound };
      if (Number.isFinite(p.gold)) record['bon/gold'] = p.gold;
      ctx.emit(record);
    }
    ctx.events.samples?.(result.chosen.map((s) => ({ ...s, policy: `bon-${bon.maxN}`, gold: Number.isFinite(s.gold) ? s.gold : null })));
    // Best-of-maxN against SFT by the same win-rate code as the trained policies, on its own pool: each prompt's first
    // sample is an SFT sample (no sampling again for the evaluation stage).
    const top = result.points[result.points.length - 1];
    const evaluation: PolicyEvaluation = { gold: null, win_rate: null, win_ci: null, kl: top.kl_bound, proxy: top.proxy };
    if (ctx.task.gold) {
      const w = winRate(result.chosen.map((s) => s.gold), result.single.map((s) => s.gold));
      Object.assign(evaluation, { gold: top.gold, win_rate: w.winRate, win_ci: w.ci });
      ctx.emit({ stage: 'bon', step: bon.maxN, 'bon/win_rate': w.winRate, 'bon/win_rate_lo': w.ci[0], 'bon/win_rate_hi': w.ci[1] });
    }
    // Where the task has a verifier: the share of best-of-maxN's answers that are exactly right.
    const verifier = ctx.task.verifier;
    if (verifier) {
      evaluation.verifier_rate = result.chosen.reduce((n, s) => n + verifier(s.prompt, s.response), 0) / result.chosen.length;
      ctx.emit({ stage: 'bon', step: bon.maxN, 'bon/verifier_rate': evaluation.verifier_rate });
    }
    ctx.summary.policies.bon = evaluation;
  } finally {
    policy.dispose();
    rm.dispose();
  }
}
