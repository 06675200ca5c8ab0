// The run's preference data, made once and shared by every stage that learns from preferences (the reward model,
// DPO): the simulated labelers' rankings of SFT samples (or the task's imported ones), with or without the rankings
// people made in the lab (humanLabels: 'replace' uses them alone, 'merge' adds them), split into training and
// held-out rankings by the seed. The same seed gives the same rankings whichever stage makes them first.
import { mixSeed, shuffledIndices } from '../../model/data';
import { calibrateNoise, interLabelerAgreement, SimulatedLabeler } from '../labelers';
import type { Ranking } from '../preferences';
import { sampleResponses } from '../reward-model';
import type { PreferenceSplit, StageContext, Weights } from './context';

/** The run's rankings (made now, sampling the SFT policy, when no stage has made them yet). */
export async function preferenceData(ctx: StageContext, stage: string): Promise<PreferenceSplit> {
  if (ctx.rankings) return ctx.rankings;
  const { labels, seed } = ctx.config;
  let rankings: Ranking[];
  const human = ctx.humanLabels;
  if (human?.mode === 'replace') {
    // At least 2, so one can be held out and one trained on.
    if (human.rankings.length < 2) throw new Error(`the preference data needs at least 2 human rankings to use yours alone, got ${human.rankings.length} — label more`);
    rankings = [...human.rankings];
  } else if (ctx.task.preferences?.length) {
    rankings = [...ctx.task.preferences];
  } else {
    rankings = await simulateLabels(ctx, ctx.need('sft', 'the simulated labelers'), stage);
  }
  if (human?.mode === 'merge') rankings.push(...human.rankings);
  if (human && human.rankings.length > 0) ctx.events.log?.(`preference data: ${human.rankings.length} human rankings (${human.mode === 'replace' ? 'alone' : 'with the others'}) of ${rankings.length} in all`);
  const heldCount = Math.max(1, Math.round(rankings.length * labels.heldoutFraction));
  const order = shuffledIndices(rankings.length, mixSeed(seed, 31));
  const heldout = order.slice(0, heldCount).map((i) => rankings[i]);
  const train = order.slice(heldCount).map((i) => rankings[i]);
  if (train.length === 0) throw new Error(`the preference data has no training rankings (${rankings.length} in all, ${heldCount} held out)`);
  ctx.rankings = { train, heldout };
  return ctx.rankings;
}

/** A second simulated labeler on the held-out simulated rankings (null when there are none, e.g. human labels). */
export function secondLabelerAgreement(ctx: StageContext, heldout: readonly Ranking[]): number | null {
  const noise = ctx.summary.labelers.noise;
  const simulated = heldout.filter((r) => r.source === 'simulated');
  if (noise === null || simulated.length === 0 || !ctx.task.gold) return null;
  return interLabelerAgreement(ctx.task, simulated, noise, mixSeed(ctx.config.seed, 45));
}

async function simulateLabels(ctx: StageContext, sft: Weights, stage: string): Promise<Ranking[]> {
  const { labels, seed } = ctx.config;
  if (!ctx.task.gold) throw new Error(`task "${ctx.task.id}" has neither a gold reward for simulated labelers nor imported preferences`);
  const prompts = pickPrompts(ctx.task.prompts.train, labels.prompts, mixSeed(seed, 41));
  const policy = ctx.model(sft);
  let samples;
  try {
    // A few extra samples per prompt, so K distinct completions remain after removing duplicates.
    const report = ctx.progress(stage, performance.now());
    samples = await sampleResponses(policy, ctx.tokenizer, prompts, labels.k + 2, {
      maxResponseTokens: ctx.rules.maxResponseTokens,
      temperature: 1,
      seed: mixSeed(seed, 42),
      onBatch: async (done, total) => {
        report(done, total);
        ctx.events.log?.(`labels: sampled ${done}/${total} completions for the labelers`);
        await ctx.control.gate();
      },
    });
  } finally {
    policy.dispose();
  }
  const groups = prompts
    .map((prompt, p) => ({ prompt, completions: [...new Set(samples.texts[p])].slice(0, labels.k) }))
    .filter((g) => g.completions.length === labels.k);
  if (groups.length < 2) throw new Error(`only ${groups.length} prompts gave ${labels.k} distinct samples; the SFT policy is too repetitive to label`);
  const gold = ctx.task.gold;
  const noise = calibrateNoise(groups.map((g) => g.completions.map((c) => gold(g.prompt, c))), labels.agreement, mixSeed(seed, 43));
  const labeler = new SimulatedLabeler(ctx.task, { noise, seed: mixSeed(seed, 44) });
  const rankings = groups.map((g) => labeler.rank(g.prompt, g.completions));
  ctx.summary.labelers = { k: labels.k, agreement: labels.agreement, noise };
  return rankings;
}

/** `count` distinct prompts drawn without replacement (all of them when there are fewer). */
function pickPrompts(prompts: readonly string[], count: number, seed: number): string[] {
  return shuffledIndices(prompts.length, seed)
    .slice(0, count)
    .map((i) => prompts[i]);
}
