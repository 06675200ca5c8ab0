// The training prompts of an RL stage, from the source its `promptSource` setting names (./shared.ts): the task's
// training prompts cycled in a seeded order, or an endless stream of fresh ones from the task's generator.
import { mixSeed, shuffledIndices } from '../../model/data';
import type { StageContext } from './context';
import type { PromptSourceKind } from './shared';

/** The next n training prompts at each call; `salt` seeds the order (or the generator's stream) from the run's seed. */
export function trainingPrompts(ctx: StageContext, who: string, source: PromptSourceKind, salt: number): (n: number) => string[] {
  const seed = mixSeed(ctx.config.seed, salt);
  if (source === 'generated') {
    if (!ctx.task.promptGenerator) throw new Error(`${who}: the ${ctx.task.id} task has no prompt generator (its prompts are a fixed set): set promptSource to train`);
    const next = ctx.task.promptGenerator(seed);
    return (n) => Array.from({ length: n }, next);
  }
  const prompts = ctx.task.prompts.train;
  const order = shuffledIndices(prompts.length, seed);
  let drawn = 0;
  return (n) => Array.from({ length: n }, () => prompts[order[drawn++ % prompts.length]]);
}
