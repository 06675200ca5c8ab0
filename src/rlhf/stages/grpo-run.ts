// GRPO (src/rlhf/grpo.ts, the group methods' trainer) as a stage: its settings as the trainer's GRPO method, run by
// the group methods' loop (./group-run.ts).
import type { StageContext } from './context';
import { runGroupStage } from './group-run';

export function runGrpo(ctx: StageContext): Promise<void> {
  const g = ctx.config.grpo;
  return runGroupStage(ctx, {
    id: 'grpo',
    name: 'GRPO',
    settings: g,
    groupSize: g.groupSize,
    method: { kind: 'grpo', epsLow: g.epsLow, epsHigh: g.epsHigh, scaleRewards: g.scaleRewards, lossType: g.lossType, iterations: g.iterations },
    seeds: [91, 92],
  });
}
