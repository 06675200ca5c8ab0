// RLOO as a stage: its method for the group methods' trainer (src/rlhf/grpo.ts, whose header has the details) —
// the KL penalty in each completion's reward, r − β·Σₜ(log π − log π_ref), its advantage against the mean of the other
// k − 1, REINFORCE on the whole completion (one step a batch, no clipping) — run by the group loop (./group-run.ts).
import * as op from '../../autograd/ops';
import { rlooAdvantages } from '../group-advantages';
import type { GroupMethod } from '../grpo';
import type { StageContext } from './context';
import { runGroupStage } from './group-run';

const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;

export const RLOO_METHOD: GroupMethod = {
  name: 'RLOO',
  passes: 1,
  aggregation: 'sequence_sum',
  klInReward: true,
  advantages(rewards, G, beta, klSeq) {
    const rlhf = klSeq ? Float64Array.from(rewards, (r, b) => r - beta * klSeq[b]) : rewards;
    const metrics: Record<string, number> = { 'objective/kl_coef': beta };
    if (klSeq) {
      metrics['objective/non_score_reward'] = -beta * mean(klSeq);
      metrics['objective/rlhf_reward'] = mean(rlhf);
    }
    return { advantages: rlooAdvantages(rlhf, G), metrics };
  },
  loss(tape, x) {
    op.rlooPolicyLoss(tape, x.logp, x.advantages, x.weights, 1);
    return undefined;
  },
  stepMetrics: () => ({}),
};

export function runRloo(ctx: StageContext): Promise<void> {
  const r = ctx.config.rloo;
  return runGroupStage(ctx, { id: 'rloo', name: 'RLOO', settings: r, groupSize: r.k, method: RLOO_METHOD, dynamicRounds: 0, seeds: [93, 94] });
}
