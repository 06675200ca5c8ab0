// Gao et al.'s curves (./gao-fit.ts) fitted to each policy stage's points on the reward-vs-√KL frontier: one function
// for the page's frontier chart (src/ui/charts/FrontierChart.tsx, from the run store's frontier points) and for
// summary.json's `gao_fits` (src/rlhf/pipeline.ts, from the metric records as they are emitted), so the two agree.
//
// Which curve, by the stage's descriptor alone (its `policy` display; no stage ids here): a stage of separate `points`
// (best-of-N, one per N) gets the best-of-N form gold − gold₀ = d(α − βd); a stage with a `trajectory` (PPO, DPO, and
// any policy stage that declares one) gets the RL form d(α − β ln d); d = √KL.
//
// The points: one per record that has the display's KL metric, at d = √max(0, KL) as the chart draws it (a noisy KL
// estimate a little below 0 counts as 0), with the display's gold metric (NaN without one: left out by the fit). The
// chart's points also need the proxy score (a run without a reward model has none on the chart), so only then can the
// summary fit points the page does not draw.
//
// gold₀, what the gains are measured from: the gold of the stage's FIRST point, which must be at KL ≈ 0 (START_KL) —
// the start policy's own gold, measured the way the stage measures every later point. Best-of-N: N = 1 (its KL bound
// log N − (N − 1)/N is 0; the same pool of samples and prompts as every N). PPO: iteration 0, whose rollout is the SFT
// policy's (policy = reference, KL 0) on one training batch, as every later point is one batch (so gold₀ carries that
// batch's noise). DPO: its held-out check before the first step, on the same prompts and seed as every later check.
// Each method from its own start, as the notes compare them; not the evaluation's SFT gold, which is measured on other
// prompts than PPO's batches and best-of-N's pool. The start is one of the fitted points (gain 0 at d = 0, where both
// curves are 0 whatever α and β). A stage whose first point is not at KL ≈ 0 (its start not measured) has no fit.
import { type GaoForm, gaoFit } from './gao-fit';
import type { MetricRecord } from './metrics';
import { STAGE_REGISTRY, stageById } from './stages';

/** A point of a policy stage on the frontier: √KL (of max(0, KL)) and the gold reward (NaN without one). */
export interface FitPoint {
  readonly sqrtKl: number;
  readonly gold: number;
}

/** The start point's KL must be at most this (nats): a policy before its first update, or best-of-1, has KL 0. */
export const START_KL = 1e-3;

interface FitOf {
  /** The stage id. */
  stage: string;
  form: GaoForm;
}

/** A fit: the fitted gold is gold₀ + d(α − βd) (best-of-N) or gold₀ + d(α − β ln d) (RL). */
export interface FrontierFitOk extends FitOf {
  ok: true;
  alpha: number;
  beta: number;
  /** R² about the mean of the gains (./gao-fit.ts). */
  r2: number;
  /** d* = √KL where the fitted gold is highest: Infinity when it rises without bound, 0 when it only falls. */
  peak: number;
  /** d*² (nats). */
  peakKL: number;
  /** The start's gold, what the gains are measured from. */
  gold0: number;
  /** The largest d of the fitted points: the fit is drawn over [0, maxSqrtKl]. */
  maxSqrtKl: number;
  /** Points fitted (the start included). */
  points: number;
}

export interface FrontierFitFailed extends FitOf {
  ok: false;
  /** Why there is no fit (too few points, no start at KL ≈ 0, no gold reward, …). */
  reason: string;
  /** Points the stage has. */
  points: number;
}

export type FrontierFit = FrontierFitOk | FrontierFitFailed;

/** The form a stage's frontier points get (by its descriptor's policy display), or undefined for a stage with none. */
export function gaoFormOf(stage: string): GaoForm | undefined {
  const display = stageById(stage)?.policy;
  return display?.trajectory ? 'rl' : display?.points ? 'bon' : undefined;
}

/** The frontier point of a record, when its stage has a policy display and the record its KL metric. */
export function fitPointOf(record: MetricRecord): FitPoint | undefined {
  const display = stageById(record.stage)?.policy;
  const m = display?.trajectory ?? display?.points;
  if (!m) return undefined;
  const values = record as Partial<Record<string, number>>;
  const kl = values[m.kl];
  if (kl === undefined) return undefined;
  return { sqrtKl: Math.sqrt(Math.max(0, kl)), gold: values[m.gold] ?? NaN };
}

/** Gao et al.'s form for `stage` fitted to its points (in the order they were logged), or undefined for a stage that
 * puts no points on the frontier. */
export function fitStage(stage: string, points: readonly FitPoint[]): FrontierFit | undefined {
  const form = gaoFormOf(stage);
  if (!form) return undefined;
  const failed = (reason: string): FrontierFitFailed => ({ stage, form, ok: false, reason, points: points.length });
  if (points.length === 0) return failed('no points');
  const start = points[0];
  const startKL = start.sqrtKl * start.sqrtKl;
  if (!(startKL <= START_KL)) return failed(`its first point is at KL ${startKL.toPrecision(3)} nats, not ≈ 0: the start policy's gold, what the gains are measured from, was not measured`);
  if (!Number.isFinite(start.gold)) return failed('no gold reward at its start (the task has none?)');
  const gold0 = start.gold;
  const fit = gaoFit(
    form,
    points.map((p) => p.sqrtKl * p.sqrtKl),
    points.map((p) => p.gold - gold0),
  );
  if (!fit.ok) return failed(fit.reason);
  let maxSqrtKl = 0;
  for (const p of points) if (Number.isFinite(p.gold) && p.sqrtKl > maxSqrtKl) maxSqrtKl = p.sqrtKl;
  return { stage, form, ok: true, alpha: fit.alpha, beta: fit.beta, r2: fit.r2, peak: fit.peak, peakKL: fit.peakKL, gold0, maxSqrtKl, points: fit.points };
}

/** The fits of every stage with points on the frontier (`byStage`: each stage's points in logged order), in run order. */
export function frontierFits(byStage: Readonly<Partial<Record<string, readonly FitPoint[]>>>): FrontierFit[] {
  return STAGE_REGISTRY.flatMap((s) => {
    const points = byStage[s.id];
    const fit = points?.length ? fitStage(s.id, points) : undefined;
    return fit ? [fit] : [];
  });
}

/** The fits from a run's metric records (in the order they were logged): what summary.json's gao_fits holds. */
export function frontierFitsOfRecords(records: Iterable<MetricRecord>): FrontierFit[] {
  const byStage: Record<string, FitPoint[]> = {};
  for (const r of records) {
    const p = fitPointOf(r);
    if (p) (byStage[r.stage] ??= []).push(p);
  }
  return frontierFits(byStage);
}

/** The fitted gold at d = √KL. */
export function fittedGold(fit: FrontierFitOk, d: number): number {
  const v = fit.form === 'bon' ? d * d : d === 0 ? 0 : d * Math.log(d);
  return fit.gold0 + fit.alpha * d - fit.beta * v;
}

/** Samples of a fit over the range it is drawn on, d ∈ [0, maxSqrtKl], ascending: `samples` even steps, and d* itself
 * when it lies strictly inside (so the curve passes through its peak). */
export function fitCurve(fit: FrontierFitOk, samples = 64): { d: number[]; gold: number[] } {
  const d = Array.from({ length: samples + 1 }, (_, i) => (fit.maxSqrtKl * i) / samples);
  if (fit.peak > 0 && fit.peak < fit.maxSqrtKl && !d.includes(fit.peak)) {
    d.splice(
      d.findIndex((x) => x > fit.peak),
      0,
      fit.peak,
    );
  }
  return { d, gold: d.map((x) => fittedGold(fit, x)) };
}

/**
 * A stage's fit in summary.json (`gao_fits.<stage>`): the form ('bon': gold − gold₀ = d(α − βd); 'rl': d(α − β ln d);
 * d = √KL in √nats), α, β, R², the peak d* and its KL (null where the fitted gold rises without bound: no peak), the
 * start's gold gold₀, the largest d fitted and the points fitted; or the reason there is none.
 */
export type GaoFitSummary =
  | { ok: true; form: GaoForm; alpha: number; beta: number; r2: number; d_star: number | null; kl_star: number | null; gold_0: number; max_d: number; points: number }
  | { ok: false; form: GaoForm; reason: string; points: number };

export function gaoFitSummary(fit: FrontierFit): GaoFitSummary {
  if (!fit.ok) return { ok: false, form: fit.form, reason: fit.reason, points: fit.points };
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  return {
    ok: true,
    form: fit.form,
    alpha: fit.alpha,
    beta: fit.beta,
    r2: fit.r2,
    d_star: finite(fit.peak),
    kl_star: finite(fit.peakKL),
    gold_0: fit.gold0,
    max_d: fit.maxSqrtKl,
    points: fit.points,
  };
}
