// The stage registry: every stage the pipeline can run, in run order, one line each. Everything that lists stages —
// the pipeline's loop, the config sections and their validation, the metric table, checkpoints, the page's stepper,
// charts and lessons, the CLI's --stages and --help — is derived from this list. A new method is a module beside
// these (its descriptor, with `run` loading its training code and `trl` its part of the TRL export) and one line here.
// Light: descriptors only (training code loads when a stage runs), so the page's main bundle may import it.
import { bon } from './bon';
import { dpo } from './dpo';
import { ensemble } from './ensemble';
import { evaluation } from './eval';
import { grpo } from './grpo';
import { ppo } from './ppo';
import { pretrain } from './pretrain';
import { rloo } from './rloo';
import { rm } from './rm';
import { sft } from './sft';
import type { StageDescriptor } from './types';

export const STAGE_REGISTRY = [pretrain, sft, rm, ensemble, ppo, dpo, grpo, rloo, bon, evaluation] as const;

type Registry = typeof STAGE_REGISTRY;
export type StageId = Registry[number]['id'];
/** Every metric name some stage declares. */
export type StageMetricName = MetricsOf<Registry[number]>;
type MetricsOf<D> = D extends { metrics: infer M } ? keyof M & string : never;

export const STAGE_IDS: readonly StageId[] = Object.freeze(STAGE_REGISTRY.map((s) => s.id));

const BY_ID: ReadonlyMap<string, StageDescriptor> = new Map(STAGE_REGISTRY.map((s) => [s.id, s]));

export function isStageId(id: string): id is StageId {
  return BY_ID.has(id);
}

export function stageById(id: StageId): StageDescriptor;
export function stageById(id: string): StageDescriptor | undefined;
export function stageById(id: string): StageDescriptor | undefined {
  return BY_ID.get(id);
}

/** The InstructGPT recipe: the stages run when none are named. */
export const DEFAULT_STAGES: readonly StageId[] = Object.freeze(STAGE_REGISTRY.filter((s) => s.byDefault).map((s) => s.id));

/** Display names by stage id. */
export const STAGE_NAMES = Object.freeze(Object.fromEntries(STAGE_REGISTRY.map((s) => [s.id, s.name])) as Record<StageId, string>);

/** The stage that writes each checkpoint, in run order. */
export const CHECKPOINT_STAGE: Readonly<Record<string, StageId>> = Object.freeze(
  Object.fromEntries(STAGE_REGISTRY.flatMap((s): [string, StageId][] => ('writes' in s ? [[s.writes, s.id]] : []))),
);
export const CHECKPOINT_NAMES: readonly string[] = Object.freeze(Object.keys(CHECKPOINT_STAGE));

/** Stages that train a policy the evaluation compares with SFT (their checkpoint holds it). */
export const TRAINED_POLICY_STAGES: readonly StageDescriptor[] = Object.freeze(STAGE_REGISTRY.filter((s): s is Extract<Registry[number], { writes: string; policy: object }> => s.produces === 'policy' && 'policy' in s && 'writes' in s));

/** Stages that train reward models (the reward model, the ensemble), each writing a checkpoint with the score head. */
export const REWARD_MODEL_STAGES: readonly StageDescriptor[] = Object.freeze(STAGE_REGISTRY.filter((s) => s.produces === 'reward model' && 'writes' in s));

/** How the page marks a policy trained on the gold reward itself (rewardSource "gold"): an oracle no real run has. */
export const GOLD_ORACLE_MARK = '(gold oracle: upper bound)';

/**
 * A policy's name as the page shows it under `config`: the stage's name ('sft' and others as given), followed by
 * GOLD_ORACLE_MARK when a `rewardSource` setting of the stage's sections is "gold" — its results are the unattainable
 * upper bound, not a method's.
 */
export function policyLabel(policy: string, config: object | undefined): string {
  const stage = BY_ID.get(policy);
  if (!stage) return policy;
  const sections = (config ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const oracle = (stage.config ?? []).some((c) => sections[c.section]?.rewardSource === 'gold');
  return oracle ? `${stage.name} ${GOLD_ORACLE_MARK}` : stage.name;
}

/** The stages in run order, for any subset of ids. */
export function inRunOrder(ids: readonly string[]): StageId[] {
  return STAGE_IDS.filter((id) => ids.includes(id));
}

export type { StageDescriptor } from './types';
