// RLOO (src/rlhf/grpo.ts, the group methods' trainer) as a stage: k completions per prompt, the trainer's RLOO method
// (leave-one-out advantages, the KL penalty in the reward, REINFORCE), run by the group methods' loop (./group-run.ts).
import type { StageContext } from './context';
import { runGroupStage } from './group-run';

export function runRloo(ctx: StageContext): Promise<void> {
  const r = ctx.config.rloo;
  return runGroupStage(ctx, { id: 'rloo', name: 'RLOO', settings: r, groupSize: r.k, method: { kind: 'rloo' }, seeds: [93, 94] });
}
