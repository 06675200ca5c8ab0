// Human feedback (InstructGPT's labelers, Ouyang et al. 2022 §3.4, played by the person at the page): `label-request`
// samples completions of a few training prompts from the current policy and keeps them by id until they are labelled;
// `labels` turns the person's orders of them into source 'human' rankings (all or nothing), and `labels-stats` reports
// how often their pairs agree with the hidden gold reward (computed here: the gold never leaves the worker). The
// rankings are the session's: `start` with humanLabels hands them to the reward-model stage, ./restore brings saved
// ones back, a configure of another task drops them. The items waiting for labels are this module's own.
import { mixSeed, shuffledIndices } from '../model/data';
import { GPT } from '../model/gpt';
import type { Pipeline } from '../rlhf/pipeline';
import { type Ranking, rankingProblem } from '../rlhf/preferences';
import { sampleResponses } from '../rlhf/reward-model';
import { TRAINED_POLICY_STAGES } from '../rlhf/stages';
import type { Weights } from '../rlhf/stages/context';
import { PipelineCommandError } from './errors';
import { type Label, type LabelItem, MAX_LABEL_K, MIN_LABEL_K } from './protocol';
import { BASE_MODEL, POLICY_CHECKPOINTS, type Session } from './session';

/** Items a `label-request` may ask for at once. */
export const MAX_LABEL_ITEMS = 64;

type Gold = (prompt: string, response: string) => number;

/**
 * How a person's rankings agree with a gold reward: over every pair of every ranking (better, worse), the pairs whose
 * gold scores are ordered the same way (`agree`) among those whose gold scores differ (`counted`; ties say nothing).
 */
export function goldAgreementOf(rankings: readonly Ranking[], gold: Gold | undefined): { pairs: number; counted: number; agree: number; agreement: number | null } {
  let [pairs, counted, agree] = [0, 0, 0];
  for (const r of rankings) {
    const g = gold ? r.completions.map((c) => gold(r.prompt, c)) : [];
    for (let i = 0; i < r.completions.length; i++) {
      for (let j = i + 1; j < r.completions.length; j++) {
        pairs++;
        if (!gold || g[i] === g[j]) continue;
        counted++;
        if (g[i] > g[j]) agree++;
      }
    }
  }
  return { pairs, counted, agree, agreement: counted > 0 ? agree / counted : null };
}

/** The gold order (indices best → worst) of a ranking's completions, ties in completion order. */
function goldOrder(r: Ranking, gold: Gold): number[] {
  const g = r.completions.map((c) => gold(r.prompt, c));
  return g.map((_, i) => i).sort((a, b) => g[b] - g[a] || a - b);
}

/**
 * The items `labels` judges, each with its completions in the person's order (best → worst); every problem (an id not
 * waiting, one labelled twice, an order that is not a permutation) refuses the whole batch.
 */
export function judgedItems(labels: readonly Label[], pending: ReadonlyMap<string, LabelItem>): { id: string; prompt: string; completions: string[] }[] {
  if (!Array.isArray(labels)) throw new PipelineCommandError('labels: `labels` must be an array of {id, order}');
  const problems: string[] = [];
  const judged: { id: string; prompt: string; completions: string[] }[] = [];
  const ids = new Set<string>();
  for (const label of labels) {
    const item = pending.get(label?.id);
    if (!item) {
      problems.push(`${JSON.stringify(label?.id)}: no such item to label (unknown, or labelled already)`);
      continue;
    }
    if (ids.has(item.id)) {
      problems.push(`${item.id}: labelled twice in this batch`);
      continue;
    }
    ids.add(item.id);
    const K = item.completions.length;
    const o = label.order;
    if (!Array.isArray(o) || o.length !== K || !o.every((i) => Number.isInteger(i) && i >= 0 && i < K) || new Set(o).size !== K) {
      problems.push(`${item.id}: order must list each of the ${K} completions' indices 0…${K - 1} once, best → worst, got ${JSON.stringify(o)}`);
      continue;
    }
    judged.push({ id: item.id, prompt: item.prompt, completions: o.map((i) => item.completions[i]) });
  }
  if (problems.length > 0) throw new PipelineCommandError(`labels: nothing added — ${problems.join('; ')}`);
  return judged;
}

/** `n` completions of each prompt from the policy with `weights`, at temperature 1. */
export type Sampler = (p: Pipeline, weights: Weights, prompts: string[], n: number, seed: number) => Promise<string[][]>;

const samplePolicy: Sampler = async (p, weights, prompts, n, seed) => {
  const model = GPT.create(p.rt, p.modelConfig, { weights });
  try {
    return (await sampleResponses(model, p.tokenizer, prompts, n, { maxResponseTokens: p.config.ppo.maxResponseTokens, temperature: 1, seed })).texts;
  } finally {
    model.dispose();
  }
};

/** The policies a label request samples, the first there is: a trained one (registry order), else SFT, else the base model. */
const SAMPLED_POLICIES = (() => {
  const trained = TRAINED_POLICY_STAGES.map((s) => s.writes!);
  return [...trained, ...POLICY_CHECKPOINTS.filter((name) => !trained.includes(name)).reverse()];
})();

export class Feedback {
  /** Items sent to label, by id, until labelled, discarded, or the configuration changes. */
  private readonly pending = new Map<string, LabelItem>();
  private requests = 0;
  private sampling: Promise<void> | undefined;

  constructor(
    private readonly session: Session,
    /** The configured pipeline, made on first use (refusing for `who` when there is no configuration). */
    private readonly pipeline: (who: string) => Promise<Pipeline>,
    /** Whether a run is going (it has the GPU: a label request is refused then). */
    private readonly running: () => boolean,
    private readonly sample: Sampler = samplePolicy,
  ) {}

  /** A label-request sampling on the GPU (a start waits for it; configure, restore and recover too). */
  get labelling(): Promise<void> | undefined {
    return this.sampling;
  }

  /** `label-request`: `count` items of `k` distinct completions, posted as `label-items`. */
  async request(count: number, k = 2, split: 'train' | 'heldout' = 'train', discard: readonly string[] = []): Promise<void> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_LABEL_ITEMS) throw new PipelineCommandError(`label-request: count must be an integer in [1, ${MAX_LABEL_ITEMS}], got ${count}`);
    if (!Number.isInteger(k) || k < MIN_LABEL_K || k > MAX_LABEL_K) throw new PipelineCommandError(`label-request: k must be an integer in [${MIN_LABEL_K}, ${MAX_LABEL_K}], got ${k}`);
    if (split !== 'train' && split !== 'heldout') throw new PipelineCommandError(`label-request: split must be 'train' or 'heldout', got ${JSON.stringify(split)}`);
    if (this.running()) throw new PipelineCommandError('label-request: a run is going — wait for it to end (the GPU is busy)');
    if (this.sampling) throw new PipelineCommandError('label-request: the previous request is still sampling — wait for its label-items');
    if (!Array.isArray(discard) || !discard.every((id) => typeof id === 'string')) throw new PipelineCommandError('label-request: `discard` must be an array of item ids');
    for (const id of discard) this.pending.delete(id);
    const job = this.sampleItems(count, k, split);
    this.sampling = job;
    try {
      await job;
    } finally {
      this.sampling = undefined;
    }
  }

  private async sampleItems(count: number, k: number, split: 'train' | 'heldout'): Promise<void> {
    const p = await this.pipeline('label-request');
    const policy = SAMPLED_POLICIES.find((name) => p.weights[name]);
    if (!policy) throw new PipelineCommandError(`label-request: there is no policy to sample yet — run the ${BASE_MODEL.stage} stage first (this preset has no bundled base model)`);
    // Prompts not labelled or waiting already, drawn afresh per request; half as many again, since a prompt whose
    // samples repeat (fewer than k distinct) is dropped.
    const seen = new Set([...this.session.human.map((r) => r.prompt), ...[...this.pending.values()].map((i) => i.prompt)]);
    const pool = p.task.prompts[split].filter((x) => !seen.has(x));
    const seed = mixSeed(p.config.seed, 0x1abe1 + this.requests++);
    const prompts = shuffledIndices(pool.length, seed)
      .slice(0, Math.ceil(count * 1.5) + 1)
      .map((i) => pool[i]);
    if (prompts.length === 0) throw new PipelineCommandError(`label-request: every ${split} prompt is labelled or waiting already`);
    const texts = await this.sample(p, p.weights[policy]!, prompts, k + 2, mixSeed(seed, 1));
    const items: LabelItem[] = [];
    for (let i = 0; i < prompts.length && items.length < count; i++) {
      const completions = [...new Set(texts[i])].slice(0, k);
      if (completions.length < k) continue;
      const item = { id: `${this.requests}-${i}`, prompt: prompts[i], completions };
      this.pending.set(item.id, item);
      items.push(item);
    }
    if (items.length === 0) throw new PipelineCommandError(`label-request: the ${policy} policy gave fewer than ${k} distinct completions for every prompt tried — it is too repetitive to label`);
    this.session.post({ type: 'label-items', items: structuredClone(items), policy });
  }

  /** `labels`: the judged items become human rankings (all or nothing), answered by the stats. */
  label(labels: readonly Label[]): void {
    const judged = judgedItems(labels, this.pending);
    for (const { id } of judged) this.pending.delete(id);
    this.session.human.push(...judged.map((j) => this.ranking(j.prompt, j.completions)));
    this.postStats();
  }

  /** `clear-labels`: every human ranking and waiting item forgotten. */
  clear(): void {
    this.session.human = [];
    this.pending.clear();
    this.postStats();
  }

  /** The waiting items are of the previous configuration's policy and task: forgotten with it. */
  forgetItems(): void {
    this.pending.clear();
  }

  postStats(): void {
    const g = goldAgreementOf(this.session.human, this.session.configured?.task.gold);
    this.session.post({ type: 'labels-stats', count: this.session.human.length, pairs: g.pairs, goldAgreement: g.agreement });
  }

  /**
   * Saved rankings (`restore`) as human rankings of this task, or the problems that refuse them: each must be a valid
   * ranking of source 'human'.
   */
  restored(rankings: readonly Ranking[]): { rankings: Ranking[]; problems: string[] } {
    const problems: string[] = [];
    const made: Ranking[] = [];
    for (const [i, r] of rankings.entries()) {
      const problem = rankingProblem(r) ?? (r.source === 'human' ? undefined : `source must be 'human', got ${JSON.stringify(r.source)}`);
      if (problem) problems.push(`ranking ${i}: ${problem}`);
      else made.push(this.ranking(r.prompt, r.completions.slice()));
    }
    return { rankings: made, problems };
  }

  /** Adds rankings to the human ones, but for those held already (the same prompt and order). */
  merge(rankings: readonly Ranking[]): void {
    const key = (r: Ranking) => JSON.stringify([r.prompt, r.completions]);
    const known = new Set(this.session.human.map(key));
    for (const r of rankings) {
      if (!known.has(key(r))) this.session.human.push(r);
      known.add(key(r));
    }
  }

  /** A human ranking, with the gold order recorded for statistics when the task has a gold reward. */
  private ranking(prompt: string, completions: string[]): Ranking {
    const r: Ranking = { prompt, completions, source: 'human' };
    const gold = this.session.configured?.task.gold;
    if (gold) r.goldOrder = goldOrder(r, gold);
    return r;
  }
}
