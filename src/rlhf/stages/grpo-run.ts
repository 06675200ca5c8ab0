// GRPO as a stage: its method for the group methods' trainer (src/rlhf/grpo.ts, whose header has the details) —
// advantages (r − mean_group)/(std + ε) scaled as grpo.scaleRewards says, the clipped surrogate with ε_low/ε_high and
// β·k3 in the loss, grpo.lossType's aggregation, μ = grpo.iterations steps a batch — run by the group loop (./group-run.ts).
import * as op from '../../autograd/ops';
import { groupAdvantages } from '../group-advantages';
import { type GroupMethod, k3 } from '../grpo';
import type { StageContext } from './context';
import type { GRPOSettings } from './grpo';
import { runGroupStage } from './group-run';

/** Unbiased ε of GRPO's advantage denominator (TRL's 1e-4). */
const ADVANTAGE_EPS = 1e-4;

const average = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function grpoMethod(g: Pick<GRPOSettings, 'epsLow' | 'epsHigh' | 'scaleRewards' | 'lossType' | 'iterations'>): GroupMethod {
  return {
    name: 'GRPO',
    passes: g.iterations,
    aggregation: g.lossType,
    klInReward: false,
    advantages: (rewards, G) => ({ advantages: groupAdvantages(rewards, G, g.scaleRewards, ADVANTAGE_EPS), metrics: {} }),
    loss: (tape, x, beta) => op.groupPolicyLoss(tape, x.logp, x.old, x.ref, x.advantages, x.weights, { epsLow: g.epsLow, epsHigh: g.epsHigh, beta }, 1).stats,
    // The kernel's statistics (3, B·T): w where the low side of the clip was active, w where the high side was, w·k3.
    stepMetrics(steps, mean, refGrid) {
      const N = steps[0].logp.length;
      const clipped = (side: number) => average(steps.map((s) => mean((i) => (s.stats![side * N + i] > 0 ? 1 : 0))));
      const [low, high] = [clipped(0), clipped(1)];
      const metrics: Record<string, number> = { 'clip_ratio/low_mean': low, 'clip_ratio/high_mean': high, 'clip_ratio/region_mean': low + high };
      if (refGrid) metrics.kl = average(steps.map((s) => mean((i) => k3(s.logp[i], refGrid[i]))));
      return metrics;
    },
  };
}

export function runGrpo(ctx: StageContext): Promise<void> {
  const g = ctx.config.grpo;
  return runGroupStage(ctx, { id: 'grpo', name: 'GRPO', settings: g, groupSize: g.groupSize, method: grpoMethod(g), dynamicRounds: g.dynamicSampling, seeds: [91, 92] });
}
