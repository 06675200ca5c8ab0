// frontier-fits: Gao et al.'s form chosen by each stage's descriptor (points → best-of-N's, trajectory → RL's), gold₀
// from the stage's own first point at KL ≈ 0, exact recovery from synthetic records of PPO, DPO and best-of-N (the
// records that put no point on the frontier left out), the reasons when there is no fit, the curve drawn, the
// summary.json shape, and the page's fits (from the run store's frontier points) equal to the summary's (from records).
import { describe, expect, test } from 'vitest';
import { fitCurve, fitPointOf, type FrontierFit, type FrontierFitOk, frontierFits, frontierFitsOfRecords, fittedGold, fitStage, gaoFitSummary, gaoFormOf } from '../../src/rlhf/frontier-fits';
import { bestOfNKLBound } from '../../src/rlhf/math';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { STAGE_REGISTRY, stageById } from '../../src/rlhf/stages';
import { createRunStore } from '../../src/store/run';

const rlGain = (alpha: number, beta: number, d: number) => (d === 0 ? 0 : d * (alpha - beta * Math.log(d)));
const bonGain = (alpha: number, beta: number, d: number) => d * (alpha - beta * d);

/** PPO's records: one per iteration, iteration 0 at KL 0 (the SFT policy's rollout), gold on the exact RL curve. */
function ppoRecords(gold0: number, alpha: number, beta: number, kls: readonly number[]): MetricRecord[] {
  return kls.map((kl, step) => ({ stage: 'ppo', step, 'objective/kl': kl, 'policy/sqrt_kl': Math.sqrt(kl), 'objective/scores': step, 'objective/gold': gold0 + rlGain(alpha, beta, Math.sqrt(kl)), 'loss/value': 1 }));
}

/** Best-of-N's records: a point per N (KL bound, proxy, gold) and the win-rate record at maxN (no KL: no point). */
function bonRecords(gold0: number, alpha: number, beta: number, ns: readonly number[]): MetricRecord[] {
  const points: MetricRecord[] = ns.map((n) => ({ stage: 'bon', step: n, 'bon/kl_bound': bestOfNKLBound(n), 'bon/proxy': n, 'bon/gold': gold0 + bonGain(alpha, beta, Math.sqrt(bestOfNKLBound(n))) }));
  return [...points, { stage: 'bon', step: ns[ns.length - 1], 'bon/win_rate': 0.7, 'bon/win_rate_lo': 0.5, 'bon/win_rate_hi': 0.9 }];
}

/** DPO's records: optimizer steps (no KL: no point) between held-out checks (KL, proxy, gold), the first at step 0. */
function dpoRecords(gold0: number, alpha: number, beta: number, kls: readonly number[]): MetricRecord[] {
  return kls.flatMap((kl, i): MetricRecord[] => [
    ...(i > 0 ? [{ stage: 'dpo', step: 2 * i - 1, 'loss/dpo': 0.6 } as MetricRecord] : []),
    { stage: 'dpo', step: 2 * i, 'objective/kl': kl, 'objective/scores': i, 'objective/gold': gold0 + rlGain(alpha, beta, Math.sqrt(kl)), 'eval_rewards/accuracies': 0.5 },
  ]);
}

function expectOk(fit: FrontierFit | undefined): FrontierFitOk {
  if (!fit?.ok) throw new Error(`expected a fit, got ${fit ? fit.reason : 'none'}`);
  return fit;
}

const KLS = [0, 0.25, 1, 2.25, 4, 6.25, 9];

describe('frontier fits', () => {
  test("the form comes from the stage's descriptor: separate points get best-of-N's, a trajectory RL's", () => {
    expect([gaoFormOf('bon'), gaoFormOf('ppo'), gaoFormOf('dpo'), gaoFormOf('sft'), gaoFormOf('eval'), gaoFormOf('no-such-stage')]).toEqual(['bon', 'rl', 'rl', undefined, undefined, undefined]);
    for (const s of STAGE_REGISTRY) {
      const display = stageById(s.id).policy;
      expect(gaoFormOf(s.id), s.id).toBe(display?.trajectory ? 'rl' : display?.points ? 'bon' : undefined);
    }
    expect(fitStage('sft', [{ sqrtKl: 0, gold: 1 }])).toBeUndefined();
  });

  test('exact curves from synthetic records: α, β recovered, R² = 1, d* and the start gold₀ of each method', () => {
    const records = [...ppoRecords(0.3, 0.8, 0.4, KLS), ...dpoRecords(-0.2, 0.5, 0.5, [0, 0.5, 1.5, 3, 5]), ...bonRecords(0.1, 1.2, 0.3, [1, 2, 4, 8, 16, 32, 64])];
    const fits = frontierFitsOfRecords(records);
    expect(fits.map((f) => [f.stage, f.form])).toEqual([
      ['ppo', 'rl'],
      ['dpo', 'rl'],
      ['bon', 'bon'],
    ]);
    const [ppo, dpo, bon] = fits.map(expectOk);
    expect(ppo.alpha).toBeCloseTo(0.8, 10);
    expect(ppo.beta).toBeCloseTo(0.4, 10);
    expect(ppo.r2).toBeCloseTo(1, 10);
    expect(ppo.peak).toBeCloseTo(Math.exp(0.8 / 0.4 - 1), 9);
    expect(ppo.peakKL).toBeCloseTo(Math.exp(2 * (0.8 / 0.4 - 1)), 8);
    expect([ppo.gold0, ppo.maxSqrtKl, ppo.points]).toEqual([0.3, 3, 7]);
    // DPO: its checks alone (5 points), from its own start.
    expect([dpo.alpha, dpo.beta].map((v) => Number(v.toFixed(10)))).toEqual([0.5, 0.5]);
    expect([dpo.gold0, dpo.points]).toEqual([-0.2, 5]);
    expect(dpo.peak).toBeCloseTo(1, 9); // exp(α/β − 1)
    // Best-of-N: N = 1 (KL bound 0) is the start; the win-rate record is no point.
    expect(bon.alpha).toBeCloseTo(1.2, 10);
    expect(bon.beta).toBeCloseTo(0.3, 10);
    expect(bon.peak).toBeCloseTo(2, 10); // α/(2β)
    expect([bon.gold0, bon.points]).toEqual([0.1, 7]);
    expect(bon.maxSqrtKl).toBeCloseTo(Math.sqrt(bestOfNKLBound(64)), 14);
  });

  test('gains are relative to the start: shifting every gold by a constant changes only gold₀', () => {
    const noisy = [0, 0.21, 0.35, 0.33, 0.4, 0.22, 0.18];
    const at = (shift: number): MetricRecord[] => KLS.map((kl, step) => ({ stage: 'ppo', step, 'objective/kl': kl, 'objective/scores': 0, 'objective/gold': noisy[step] + shift }));
    const [a, b] = [expectOk(frontierFitsOfRecords(at(0))[0]), expectOk(frontierFitsOfRecords(at(5))[0])];
    expect(b.alpha).toBeCloseTo(a.alpha, 12);
    expect(b.beta).toBeCloseTo(a.beta, 12);
    expect(b.r2).toBeCloseTo(a.r2, 12);
    expect(a.r2).toBeGreaterThan(0);
    expect(a.r2).toBeLessThan(1);
    expect(b.gold0 - a.gold0).toBe(5);
    expect(fittedGold(b, 1.3) - fittedGold(a, 1.3)).toBeCloseTo(5, 12);
  });

  test('no fit, with a reason: no start at KL ≈ 0, no gold reward, too few points', () => {
    const late = ppoRecords(0.3, 0.8, 0.4, KLS).slice(1); // the start (iteration 0) missing
    expect(fitStage('ppo', late.map((r) => fitPointOf(r)!))).toMatchObject({ ok: false, form: 'rl', points: 6, reason: expect.stringMatching(/first point is at KL 0\.250 nats, not ≈ 0/) });
    const noGold = ppoRecords(0, 1, 1, KLS).map(({ 'objective/gold': _, ...r }) => r);
    expect(frontierFitsOfRecords(noGold)).toEqual([{ stage: 'ppo', form: 'rl', ok: false, reason: expect.stringMatching(/no gold reward/), points: 7 }]);
    // The nano smoke run's PPO: iteration 0 and one more point, which cannot tell α from β.
    expect(frontierFitsOfRecords(ppoRecords(0, 1, 1, [0, 0.4]))[0]).toMatchObject({ ok: false, points: 2, reason: expect.stringMatching(/singular/) });
    expect(fitStage('bon', [])).toMatchObject({ ok: false, reason: 'no points', points: 0 });
    expect(frontierFits({ ppo: [], bon: undefined })).toEqual([]);
  });

  test('a KL estimate below 0 counts as 0, as the chart draws it', () => {
    const records = ppoRecords(0.3, 0.8, 0.4, KLS);
    records[0]['objective/kl'] = -0.01; // noise around iteration 0's KL: still the start
    expect(fitPointOf(records[0])).toEqual({ sqrtKl: 0, gold: 0.3 });
    expect(expectOk(frontierFitsOfRecords(records)[0]).alpha).toBeCloseTo(0.8, 10);
  });

  test('the curve drawn: d from 0 to the largest fitted √KL, through d* when inside, highest there', () => {
    const fit = expectOk(frontierFitsOfRecords(ppoRecords(0.3, 0.8, 0.4, KLS))[0]);
    const { d, gold } = fitCurve(fit, 10);
    expect(d).toHaveLength(12);
    expect([d[0], d[d.length - 1]]).toEqual([0, 3]);
    for (let i = 1; i < d.length; i++) expect(d[i]).toBeGreaterThan(d[i - 1]);
    expect(d).toContain(fit.peak);
    expect(gold[0]).toBe(0.3);
    expect(gold.indexOf(Math.max(...gold))).toBe(d.indexOf(fit.peak));
    // A peak beyond the points is not added.
    const rising = expectOk(frontierFitsOfRecords(ppoRecords(0, 2, 0.2, KLS))[0]);
    expect(rising.peak).toBeGreaterThan(3);
    expect(fitCurve(rising, 10).d).toHaveLength(11);
  });

  test("summary.json's shape: α, β, R², d* and its KL (null for no peak), gold₀, the range, the points; or the reason", () => {
    const fit = expectOk(frontierFitsOfRecords(bonRecords(0.1, 1.2, 0.3, [1, 2, 4, 8]))[0]);
    expect(gaoFitSummary(fit)).toEqual({ ok: true, form: 'bon', alpha: fit.alpha, beta: fit.beta, r2: fit.r2, d_star: fit.peak, kl_star: fit.peakKL, gold_0: 0.1, max_d: fit.maxSqrtKl, points: 4 });
    // Gold rising ever faster (β < 0): no peak, null in JSON rather than Infinity.
    const convex = expectOk(fitStage('bon', [0, 1, 2, 3].map((d) => ({ sqrtKl: d, gold: d * d }))));
    expect(convex.peak).toBe(Infinity);
    expect(gaoFitSummary(convex)).toMatchObject({ d_star: null, kl_star: null });
    expect(gaoFitSummary(fitStage('ppo', [])!)).toEqual({ ok: false, form: 'rl', reason: 'no points', points: 0 });
  });

  test("the page's fits (the run store's frontier points) are the summary's (the records)", () => {
    const store = createRunStore({ schedule: () => () => {} });
    const noisy = KLS.map((_, i) => 0.05 * Math.sin(7 * i));
    const records = [
      ...ppoRecords(0.3, 0.8, 0.4, KLS).map((r, i) => ({ ...r, 'objective/gold': r['objective/gold']! + noisy[i] })),
      ...dpoRecords(-0.2, 0.5, 0.5, [0, 0.5, 1.5, 3, 5]),
      ...bonRecords(0.1, 1.2, 0.3, [1, 2, 4, 8, 16]),
    ];
    store.getState().onMetrics(records);
    store.getState().flush();
    const fromStore = frontierFits(store.getState().frontier);
    expect(fromStore.map((f) => f.stage)).toEqual(['ppo', 'dpo', 'bon']);
    expect(fromStore).toEqual(frontierFitsOfRecords(records));
  });
});
