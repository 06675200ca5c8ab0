// The functional forms of Gao et al. 2022, "Scaling Laws for Reward Model Overoptimization", fitted to a lab's own
// points: how the gold reward first rises and then falls as a policy is optimised against a proxy reward model and
// moves away from its start, as a function of d = √KL(π ‖ π_start) (nats):
//   best-of-N:  gain(d) = d·(α − β·d)       = α·d − β·d²
//   RL (PPO…):  gain(d) = d·(α − β·ln d)    = α·d − β·d·ln d
// gain is the gold reward MEASURED RELATIVE TO THE START POLICY: gold − gold₀, with gold₀ the start policy's own gold
// score (best-of-1, or the RL run before its first step). Both curves pass through 0 at d = 0, so the fit has no
// intercept, and raw gold scores would be fitted wrongly (whatever gold₀ is would be forced through 0).
// Each form is linear in (α, β), so the fit is ordinary least squares, min Σ (gain − α·u − β·v)² with u = d and
// v = −d² resp. −d·ln d (taking d·ln d = 0 at d = 0, its limit), solved through the 2×2 normal equations.
// Pure TypeScript (runs in Node and in a Web Worker).

export type GaoForm = 'bon' | 'rl';

export type GaoFit =
  | {
      ok: true;
      form: GaoForm;
      alpha: number;
      beta: number;
      /** 1 − SS_res/SS_tot with SS_tot = Σ(gain − mean gain)², about the MEAN of the data (not about 0, as some
       *  through-origin fits report): negative when the curve fits worse than a flat line at the mean. */
      r2: number;
      /** d* ≥ 0 where the fitted gain is largest: α/(2β) (best-of-N) or exp(α/β − 1) (RL) when β > 0; 0 when the
       *  fitted gain only falls (the start is best); Infinity when it rises without bound (no maximum). */
      peak: number;
      /** KL at the peak, d*² (nats). */
      peakKL: number;
      /** Points used. */
      points: number;
      /** Points left out: KL not a finite number ≥ 0 (a noisy estimate of a tiny KL can be < 0), or gain not finite. */
      skipped: number;
    }
  | { ok: false; form: GaoForm; reason: string; points: number; skipped: number };

/** Below this, det(normal matrix)/(S_uu·S_vv) = sin² of the angle between u and v: the fit cannot tell α from β. */
const SINGULAR = 1e-10;

/**
 * Least-squares fit of Gao et al.'s `form` to points (kl[i], gain[i]): kl in nats (d = √kl), gain = gold − gold₀.
 * Never NaN: a fit that cannot be made (fewer than 2 usable points, every d = 0, points that do not determine α and β
 * separately, gains all equal so R² is undefined, or α, β beyond float64's range) is { ok: false, reason }. Throws
 * only on unequal lengths or an unknown form.
 */
export function gaoFit(form: GaoForm, kl: ArrayLike<number>, gain: ArrayLike<number>): GaoFit {
  if (form !== 'bon' && form !== 'rl') throw new Error(`gaoFit: form must be 'bon' or 'rl', got ${String(form)}`);
  if (gain.length !== kl.length) throw new Error(`gaoFit: gain has length ${gain.length}, kl has ${kl.length}`);
  const d: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < kl.length; i++) {
    if (Number.isFinite(kl[i]) && kl[i] >= 0 && Number.isFinite(gain[i])) {
      d.push(Math.sqrt(kl[i]));
      y.push(gain[i]);
    }
  }
  const points = d.length;
  const skipped = kl.length - points;
  const failed = (reason: string): GaoFit => ({ ok: false, form, reason, points, skipped });
  if (points < 2) return failed(`needs at least 2 points with a finite KL ≥ 0 and a finite gain, got ${points}`);
  if (d.every((x) => x === 0)) return failed('every point has KL = 0: the curves are 0 there whatever α and β are');
  // Regressors and gains scaled to a largest magnitude of 1 (equilibrated normal equations: no sum can overflow or
  // underflow for lack of range, and the singularity test compares like with like); α and β are scaled back at the end.
  const v = d.map((x) => (form === 'bon' ? -x * x : x === 0 ? 0 : -x * Math.log(x)));
  const largest = (x: number[]) => x.reduce((m, e) => Math.max(m, Math.abs(e)), 0);
  const uScale = largest(d);
  const vScale = largest(v) || 1; // all 0: singular below
  const yScale = largest(y) || 1; // all 0: equal gains below
  const us = d.map((x) => x / uScale);
  const vs = v.map((x) => x / vScale);
  const ys = y.map((x) => x / yScale);
  let suu = 0;
  let suv = 0;
  let svv = 0;
  let suy = 0;
  let svy = 0;
  for (let i = 0; i < points; i++) {
    suu += us[i] * us[i];
    suv += us[i] * vs[i];
    svv += vs[i] * vs[i];
    suy += us[i] * ys[i];
    svy += vs[i] * ys[i];
  }
  const det = suu * svv - suv * suv;
  if (!(det > SINGULAR * suu * svv)) {
    const need = form === 'bon' ? 'two distinct KL > 0' : 'two distinct KL > 0 that are not both 1 (d·ln d = 0 at d = 1)';
    return failed(`the points do not determine α and β separately (singular normal equations): need ${need}`);
  }
  if (y.every((g) => g === y[0])) return failed(`every gain is ${y[0]}: R² about their mean is undefined`);
  const a = (svv * suy - suv * svy) / det; // α, β of the scaled problem
  const b = (suu * svy - suv * suy) / det;
  const meanY = ys.reduce((sum, g) => sum + g, 0) / points;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < points; i++) {
    ssRes += (ys[i] - a * us[i] - b * vs[i]) ** 2;
    ssTot += (ys[i] - meanY) ** 2;
  }
  const alpha = (a * yScale) / uScale;
  const beta = (b * yScale) / vScale;
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) return failed(`α or β is beyond float64's range (gains up to ${yScale}, d up to ${uScale})`);
  const peak = peakOf(form, alpha, beta);
  return { ok: true, form, alpha, beta, r2: 1 - ssRes / ssTot, peak, peakKL: peak * peak, points, skipped };
}

/** argmax over d ≥ 0 of the fitted gain (Infinity when it grows without bound; 0 when it never rises). */
function peakOf(form: GaoForm, alpha: number, beta: number): number {
  if (beta < 0 || (beta === 0 && alpha > 0)) return Infinity; // −β·d² or −β·d·ln d, or α·d, dominates and rises
  if (beta === 0) return 0;
  // β > 0: best-of-N's slope α − 2βd falls from α; RL's α − β(ln d + 1) falls from +∞ through 0 at exp(α/β − 1).
  return form === 'bon' ? Math.max(alpha, 0) / (2 * beta) : Math.exp(alpha / beta - 1);
}
