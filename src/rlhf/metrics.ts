// The one table of training metrics shared by the worker, the CLI and the UI — names, what each means, what healthy
// looks like — gathered from the stages' descriptors (src/rlhf/stages/), which declare their own; and alarms that
// name the likely cause when a run goes wrong. Pure TypeScript (Node and Web Worker).
//
// Names follow Hugging Face TRL's PPOTrainer/RewardTrainer/SFTTrainer logs (the `_avg` suffixes dropped) so users
// recognise them; policy/sqrt_kl is trlX's (the x-axis of Anthropic's HH-RLHF and Gao et al.'s over-optimization
// plots). Healthy-run guidance: TRL's PPO docs and "The N Implementation Details of RLHF with PPO" (Huang et al.).
// KL metrics are in nats, summed over a response's tokens and averaged over the batch (TRL's objective/kl).
import { STAGE_REGISTRY, type StageId, type StageMetricName } from './stages';
import type { MetricDoc } from './stages/types';

export type Stage = StageId;

export interface MetricInfo extends MetricDoc {
  /** The stages that log this metric (lr and grad_norm appear in several). */
  readonly stages: readonly Stage[];
}

/** Every metric some stage declares, with the stages whose records carry it (the declaring ones, or `loggedBy`). */
function metricTable(): Record<string, MetricInfo> {
  const table: Record<string, MetricInfo> = {};
  for (const stage of STAGE_REGISTRY) {
    for (const [name, doc] of Object.entries(stage.metrics as Record<string, MetricDoc>)) {
      const logger = (doc.loggedBy ?? stage.id) as Stage;
      const stages = table[name]?.stages ?? [];
      table[name] = { ...(table[name] ?? doc), stages: stages.includes(logger) ? stages : [...stages, logger] };
    }
  }
  return table;
}

const table = metricTable();

export type MetricName = StageMetricName;

/** Every metric, keyed by name; frozen (entries and their stage lists too). */
export const METRICS: Readonly<Record<MetricName, MetricInfo>> = Object.freeze(
  Object.fromEntries(
    Object.entries(table).map(([name, info]) => [name, Object.freeze({ ...info, stages: Object.freeze([...info.stages]) })]),
  ) as Record<MetricName, MetricInfo>,
);

export const METRIC_NAMES = Object.freeze(Object.keys(table) as MetricName[]);

export function isMetricName(name: string): name is MetricName {
  return Object.prototype.hasOwnProperty.call(METRICS, name);
}

/** One logged row: the stage and step it belongs to, plus any metrics. */
export type MetricRecord = { stage: Stage; step: number } & Partial<Record<MetricName, number>>;

// ---- alarms ----

/**
 * Mean KL below this (nats) means samples are not from the policy (N-details: top-k/top-p, min-length sampling) —
 * when it is also below 0 by more than NEGATIVE_KL_STDERRS standard errors (objective/kl_stderr): the k1 estimate of
 * a small batch (nano's 4 responses) can be −0.1 by chance.
 */
export const NEGATIVE_KL_THRESHOLD = -0.1;
export const NEGATIVE_KL_STDERRS = 3;
/** Mean KL above this (nats per response) is a KL blow-up: the policy has run far from the SFT model. */
export const KL_BLOWUP_THRESHOLD = 50;
/** val/ratio outside [RATIO_MIN, RATIO_MAX] is a ratio explosion (the healthy value is ≈ 1). */
export const RATIO_MIN = 0.5;
export const RATIO_MAX = 2;

export interface Alarm {
  metric: MetricName | 'step';
  message: string;
}

/** Likely causes of a non-finite value, for the metrics where we know better than "something diverged". */
const NON_FINITE_CAUSES: Partial<Record<MetricName, string>> = {
  'loss/value': 'the value head diverged — lower the learning rate, scale/whiten rewards, or tighten the value clip',
  'loss/policy': 'the policy update diverged — lower the learning rate; check for −Inf log-probs',
  'objective/kl': 'a sampled token has probability 0 under the policy or the reference — check sampling settings',
  'objective/scores': 'the reward model produced NaN/Inf — check its weights and inputs',
  'rm/loss': 'the reward model diverged — lower the learning rate',
  loss: 'training diverged — lower the learning rate or clip gradients',
  grad_norm: 'a gradient overflowed — lower the learning rate or clip gradients',
};

function describe(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/**
 * The first alarm a record raises, most severe first, or undefined for a healthy record:
 *   any non-finite metric (NaN/Inf), KL blow-up (> KL_BLOWUP_THRESHOLD), negative KL (< NEGATIVE_KL_THRESHOLD and,
 *   where the record has objective/kl_stderr, below 0 by more than NEGATIVE_KL_STDERRS of it),
 *   ratio explosion (val/ratio outside [RATIO_MIN, RATIO_MAX]). The message names the metric and the likely cause.
 */
export function checkAlarms(record: MetricRecord): Alarm | undefined {
  if (!Number.isFinite(record.step)) return { metric: 'step', message: `step is ${describe(record.step)}: the caller logged a bad step number` };
  for (const name of METRIC_NAMES) {
    const v = record[name];
    if (v === undefined || Number.isFinite(v)) continue;
    const cause = NON_FINITE_CAUSES[name] ?? 'a NaN/Inf entered training — lower the learning rate and check the inputs';
    return { metric: name, message: `${name} is ${describe(v)}: ${cause}` };
  }
  const kl = record['objective/kl'];
  if (kl !== undefined && kl > KL_BLOWUP_THRESHOLD) {
    return {
      metric: 'objective/kl',
      message:
        `objective/kl is ${kl.toFixed(2)} nats (> ${KL_BLOWUP_THRESHOLD}): KL blow-up — the policy has run far from the ` +
        'SFT model; raise β (kl_coef) or use the adaptive KL controller, lower the learning rate',
    };
  }
  const stderr = record['objective/kl_stderr'];
  if (kl !== undefined && kl < NEGATIVE_KL_THRESHOLD && (stderr === undefined || kl < -NEGATIVE_KL_STDERRS * stderr)) {
    const noise = stderr === undefined ? '' : `, ${(-kl / stderr).toFixed(1)} standard errors below 0`;
    return {
      metric: 'objective/kl',
      message:
        `objective/kl is ${kl.toFixed(3)} nats (< ${NEGATIVE_KL_THRESHOLD}${noise}): negative mean KL — responses are not sampled ` +
        'from the policy; sample with top_k = 0, top_p = 1, temperature as in the log-prob pass, and no min-length forcing',
    };
  }
  const ratio = record['val/ratio'];
  if (ratio !== undefined && (ratio < RATIO_MIN || ratio > RATIO_MAX)) {
    return {
      metric: 'val/ratio',
      message:
        `val/ratio is ${ratio.toFixed(3)} (outside [${RATIO_MIN}, ${RATIO_MAX}]): ratio explosion — the policy moved too far ` +
        'within one PPO update; lower the learning rate, use fewer inner epochs or a smaller clip range',
    };
  }
  return undefined;
}

// ---- export ------------------------------------------------------------------------------------------------------

const csvCell = (v: unknown): string => {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * CSV of metric records, one line per record (each line ends in \n): columns stage, step, then every metric name
 * that occurs in any record, in METRICS order (names the table does not know follow, in first-seen order). A
 * metric a record lacks is an empty cell; numbers are written as JavaScript prints them (NaN, Infinity included).
 */
export function metricsToCsv(records: readonly MetricRecord[]): string {
  const present = new Set<string>();
  for (const r of records) for (const k of Object.keys(r)) if (k !== 'stage' && k !== 'step') present.add(k);
  const known = METRIC_NAMES.filter((n) => present.has(n));
  const unknown = [...present].filter((n) => !(n in METRICS));
  const columns = ['stage', 'step', ...known, ...unknown];
  const lines = [columns, ...records.map((r) => columns.map((c) => (r as Record<string, unknown>)[c]))];
  return lines.map((cells) => `${cells.map(csvCell).join(',')}\n`).join('');
}

/** JSON Lines: one record per line as JSON.stringify writes it (non-finite numbers become null, as in JSON). */
export function metricsToJsonl(records: readonly MetricRecord[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}
