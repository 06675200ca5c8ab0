// Best-of-N from the SFT policy with the reward model, N = 1, 2, 4, …, maxN, on held-out prompts.
import { mixSeed } from '../../model/data';
import { bestOfN } from '../best-of-n';
import type { MetricRecord } from '../metrics';
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
  } finally {
    policy.dispose();
    rm.dispose();
  }
}
