// The math of RLHF with PPO, on the CPU in float64: every formula the reward-model and PPO loops compute outside the
// GPU kernels, each as one small, plainly written function with its formula and its source. The losses are kernels;
// their float64 oracles are src/reference/ppo-loss.ts and ranking-loss.ts. Pure TypeScript (runs in Node and in a
// Web Worker).
//
// Sources:
//   InstructGPT  — Ouyang et al. 2022, "Training language models to follow instructions with human feedback".
//   Ziegler      — Ziegler et al. 2019, "Fine-Tuning Language Models from Human Preferences" (adaptive KL controller).
//   GAE          — Schulman et al. 2016, "High-Dimensional Continuous Control Using Generalized Advantage Estimation".
//   N-details    — Huang et al., "The N Implementation Details of RLHF with PPO" (2023/2024).
//   TRL          — Hugging Face TRL: trl/trainer/ppo_trainer.py, trl/core.py (masked_mean/var/whiten).
//   k3           — J. Schulman, "Approximating KL Divergence" (2020 blog post).
//   Best-of-N    — Beirami et al. 2024, "Theoretical guarantees on the best-of-n alignment policy".
//   Wilson       — E. B. Wilson 1927, "Probable inference, the law of succession, and statistical inference".
//
// Layout: a batch of B responses padded to T response positions is row-major (B,T): x[b·T + t] is position t of
// response b. `mask` (B,T) is 1 on real response tokens and 0 on padding, and a response's real tokens are always a
// prefix of its row (a row may have 0…T of them). "Masked mean" means the mean over ALL real tokens of the batch
// (TRL's masked_mean), not a mean of per-row means. Values at padding positions are never read (they may hold
// anything, NaN included), and every (B,T) output is exactly 0 at padding.
// Hyperparameters and shapes are validated (errors name the function and the argument); data values are not: a
// NaN in the data flows through to the metrics, where src/rlhf/metrics.ts's checkAlarms names it.

// ---- validation (shared with the other pure-math modules of src/rlhf) ----

export function fail(fn: string, message: string): never {
  throw new Error(`${fn}: ${message}`);
}

export function checkLength(fn: string, name: string, x: ArrayLike<number> | ArrayLike<boolean>, n: number): void {
  if (x.length !== n) fail(fn, `${name} has length ${x.length}, expected ${n}`);
}

/** Every mask entry is 0 or 1; returns the number of real tokens. */
export function checkMask(fn: string, mask: ArrayLike<number>, n: number): number {
  checkLength(fn, 'mask', mask, n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (mask[i] === 1) count++;
    else if (mask[i] !== 0) fail(fn, `mask[${i}] is ${mask[i]}, expected 0 or 1`);
  }
  return count;
}

/** Per-row response lengths of a (B,T) mask, checking that each row's real tokens are a prefix of the row. */
function rowLengths(fn: string, mask: ArrayLike<number>, B: number, T: number): Int32Array {
  checkMask(fn, mask, B * T);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let len = 0;
    while (len < T && mask[b * T + len] === 1) len++;
    for (let t = len; t < T; t++) {
      if (mask[b * T + t] !== 0) fail(fn, `mask row ${b} is not a prefix (real token at ${t} after padding at ${len})`);
    }
    lengths[b] = len;
  }
  return lengths;
}

export function checkFiniteNumber(fn: string, name: string, v: number): void {
  if (!Number.isFinite(v)) fail(fn, `${name} must be a finite number, got ${v}`);
}

function checkInRange(fn: string, name: string, v: number, lo: number, hi: number, loOpen: boolean, hiOpen: boolean): void {
  checkFiniteNumber(fn, name, v);
  const okLo = loOpen ? v > lo : v >= lo;
  const okHi = hiOpen ? v < hi : v <= hi;
  if (!okLo || !okHi) fail(fn, `${name} must be in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}`);
}

export function checkPositiveInteger(fn: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) fail(fn, `${name} must be a positive integer, got ${v}`);
}

function requireTokens(fn: string, count: number, atLeast: number, why = ''): void {
  if (count < atLeast) fail(fn, `mask has ${count} real tokens, needs at least ${atLeast}${why}`);
}

// ---- masked statistics (TRL core.py) ----

/** Σ mask·x / Σ mask — the mean over real tokens. Throws when the mask has no real token. */
export function maskedMean(x: ArrayLike<number>, mask: ArrayLike<number>): number {
  const count = checkMask('maskedMean', mask, x.length);
  requireTokens('maskedMean', count, 1);
  let sum = 0;
  for (let i = 0; i < x.length; i++) if (mask[i] === 1) sum += x[i];
  return sum / count;
}

/**
 * Variance over real tokens: Σ mask·(x − mean)² / N, times N/(N−1) when `unbiased` (Bessel's correction; TRL's
 * masked_var default, which needs N ≥ 2).
 */
export function maskedVar(x: ArrayLike<number>, mask: ArrayLike<number>, unbiased = true): number {
  const count = checkMask('maskedVar', mask, x.length);
  requireTokens('maskedVar', count, unbiased ? 2 : 1, unbiased ? ' for the unbiased variance' : '');
  const mean = maskedMean(x, mask);
  let sq = 0;
  for (let i = 0; i < x.length; i++) if (mask[i] === 1) sq += (x[i] - mean) ** 2;
  return sq / (unbiased ? count - 1 : count);
}

/**
 * Standard deviation over real tokens: sqrt(maskedVar(x, mask, unbiased)), unbiased by default — the spread `whiten`
 * divides by (PPO logs it of the raw GAE advantages as policy/advantage_std, since whitened ones have std 1).
 */
export function maskedStd(x: ArrayLike<number>, mask: ArrayLike<number>, unbiased = true): number {
  return Math.sqrt(maskedVar(x, mask, unbiased));
}

/**
 * Whitening (TRL masked_whiten; N-details "advantage whitening"):
 *   y = (x − mean) / sqrt(var + 1e-8)          over real tokens,
 * with mean and the UNBIASED (Bessel-corrected) variance over real tokens, as TRL does. shiftMean = false adds the
 * mean back, y = (x − mean)/sqrt(var + 1e-8) + mean: used for rewards, whose level carries meaning.
 * Padding positions of the output are 0. Needs at least 2 real tokens.
 */
export function whiten(x: ArrayLike<number>, mask: ArrayLike<number>, shiftMean = true): Float64Array {
  const count = checkMask('whiten', mask, x.length);
  requireTokens('whiten', count, 2, ' (unbiased variance)');
  const mean = maskedMean(x, mask);
  const invStd = 1 / Math.sqrt(maskedVar(x, mask, true) + 1e-8);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    if (mask[i] === 1) out[i] = (x[i] - mean) * invStd + (shiftMean ? 0 : mean);
  }
  return out;
}

// ---- KL to the reference (SFT) policy and the per-token reward ----

/**
 * Per-token estimate of KL(π ‖ π_ref) from the log-probs of the SAMPLED tokens (sampled from π), elementwise:
 *   k1 = logp − refLogp                              unbiased, can be negative per token (TRL/InstructGPT default)
 *   k3 = (r − 1) − log r,  r = π_ref/π = exp(refLogp − logp)     unbiased, always ≥ 0, lower variance (Schulman)
 * k3 is computed as expm1(d) − d with d = refLogp − logp (accurate for small d) and clamped at 0 against rounding.
 */
export function klPerToken(logp: ArrayLike<number>, refLogp: ArrayLike<number>, estimator: 'k1' | 'k3'): Float64Array {
  checkLength('klPerToken', 'refLogp', refLogp, logp.length);
  if (estimator !== 'k1' && estimator !== 'k3') fail('klPerToken', `estimator must be 'k1' or 'k3', got ${String(estimator)}`);
  const out = new Float64Array(logp.length);
  for (let i = 0; i < logp.length; i++) {
    if (estimator === 'k1') {
      out[i] = logp[i] - refLogp[i];
    } else {
      const d = refLogp[i] - logp[i];
      out[i] = Math.max(0, Math.expm1(d) - d);
    }
  }
  return out;
}

/**
 * The reward each response token gets in PPO (InstructGPT eq. 2, per token as in Ziegler/TRL/N-details):
 *   nonScore[b,t] = −β·kl[b,t]                                  on real tokens
 *   rewards[b,t]  = nonScore[b,t] + (t = last real token of row b ? s_b : 0)
 *   s_b = scores[b]       when the response ended with EOS (eosFound[b]),
 *   s_b = noEosPenalty    otherwise — the score is REPLACED by the fixed penalty (N-details, e.g. −1). Pass
 *                         noEosPenalty = null to keep the score for responses without EOS. (TRL's newer
 *                         `missing_eos_penalty` subtracts from the score instead; this file follows N-details.)
 * Padding gets 0 in both outputs; a row with no real token has nowhere to receive its score (it is dropped).
 * kl (B,T), mask (B,T), scores (B), eosFound (B).
 */
export function perTokenRewards(
  kl: ArrayLike<number>,
  mask: ArrayLike<number>,
  scores: ArrayLike<number>,
  beta: number,
  eosFound: ArrayLike<boolean>,
  noEosPenalty: number | null,
): { rewards: Float64Array; nonScore: Float64Array } {
  const fn = 'perTokenRewards';
  const B = scores.length;
  if (B < 1) fail(fn, 'scores is empty (need one score per response)');
  if (kl.length % B !== 0) fail(fn, `kl has length ${kl.length}, not a multiple of B = scores.length = ${B}`);
  const T = kl.length / B;
  checkLength(fn, 'eosFound', eosFound, B);
  checkFiniteNumber(fn, 'beta', beta);
  if (beta < 0) fail(fn, `beta must be ≥ 0, got ${beta}`);
  if (noEosPenalty !== null) checkFiniteNumber(fn, 'noEosPenalty', noEosPenalty);
  const lengths = rowLengths(fn, mask, B, T);
  const rewards = new Float64Array(B * T);
  const nonScore = new Float64Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    for (let t = 0; t < len; t++) {
      nonScore[b * T + t] = -beta * kl[b * T + t];
      rewards[b * T + t] = nonScore[b * T + t];
    }
    if (len > 0) {
      const score = eosFound[b] || noEosPenalty === null ? scores[b] : noEosPenalty;
      rewards[b * T + len - 1] += score;
    }
  }
  return { rewards, nonScore };
}

// ---- advantages ----

/**
 * Generalized Advantage Estimation (Schulman et al. 2016), per row over its real tokens only (t = 0…L−1):
 *   δ_t = r_t + γ·V_{t+1} − V_t,   with V_L = 0 (nothing follows the last real token: the episode ends)
 *   A_t = δ_t + γλ·A_{t+1},        A_L = 0           (i.e. A_t = Σ_l (γλ)^l δ_{t+l})
 *   returns_t = A_t + V_t                            (the value target, TRL/N-details)
 * RLHF uses γ = 1, λ = 0.95 (InstructGPT/N-details). rewards, values, mask: (B,T); T is the padded length (needed to
 * find row boundaries). Padding gets 0.
 */
export function gae(
  rewards: ArrayLike<number>,
  values: ArrayLike<number>,
  mask: ArrayLike<number>,
  gamma: number,
  lambda: number,
  T: number,
): { advantages: Float64Array; returns: Float64Array } {
  const fn = 'gae';
  checkPositiveInteger(fn, 'T', T);
  if (rewards.length % T !== 0) fail(fn, `rewards has length ${rewards.length}, not a multiple of T = ${T}`);
  const B = rewards.length / T;
  checkLength(fn, 'values', values, B * T);
  checkInRange(fn, 'gamma', gamma, 0, 1, false, false);
  checkInRange(fn, 'lambda', lambda, 0, 1, false, false);
  const lengths = rowLengths(fn, mask, B, T);
  const advantages = new Float64Array(B * T);
  const returns = new Float64Array(B * T);
  for (let b = 0; b < B; b++) {
    let nextValue = 0; // V after the last real token
    let nextAdvantage = 0;
    for (let t = lengths[b] - 1; t >= 0; t--) {
      const i = b * T + t;
      const delta = rewards[i] + gamma * nextValue - values[i];
      advantages[i] = delta + gamma * lambda * nextAdvantage;
      returns[i] = advantages[i] + values[i];
      nextValue = values[i];
      nextAdvantage = advantages[i];
    }
  }
  return { advantages, returns };
}

// ---- KL coefficient controllers ----

/** The KL coefficient β used in perTokenRewards, and how it reacts to the measured KL. */
export interface KLController {
  readonly value: number;
  /** currentKL: the batch's mean per-response KL (objective/kl, nats); nSteps: episodes in the batch. */
  update(currentKL: number, nSteps: number): void;
}

/**
 * Ziegler et al. 2019's adaptive KL controller (TRL AdaptiveKLController), a proportional controller in log-space:
 *   e = clip(KL/target − 1, −0.2, 0.2)
 *   β ← β · (1 + e · nSteps/horizon)
 * KL above target raises β (pull back toward the SFT policy), KL below target lowers it.
 */
export class AdaptiveKLController implements KLController {
  private beta: number;
  readonly target: number;
  readonly horizon: number;

  constructor(initBeta: number, target: number, horizon: number) {
    const fn = 'AdaptiveKLController';
    checkFiniteNumber(fn, 'initBeta', initBeta);
    if (initBeta < 0) fail(fn, `initBeta must be ≥ 0, got ${initBeta}`);
    checkFiniteNumber(fn, 'target', target);
    if (target <= 0) fail(fn, `target must be > 0, got ${target}`);
    checkFiniteNumber(fn, 'horizon', horizon);
    if (horizon <= 0) fail(fn, `horizon must be > 0, got ${horizon}`);
    this.beta = initBeta;
    this.target = target;
    this.horizon = horizon;
  }

  get value(): number {
    return this.beta;
  }

  update(currentKL: number, nSteps: number): void {
    checkFiniteNumber('AdaptiveKLController.update', 'currentKL', currentKL);
    checkFiniteNumber('AdaptiveKLController.update', 'nSteps', nSteps);
    if (nSteps < 0) fail('AdaptiveKLController.update', `nSteps must be ≥ 0, got ${nSteps}`);
    const error = Math.min(Math.max(currentKL / this.target - 1, -0.2), 0.2);
    this.beta *= 1 + (error * nSteps) / this.horizon;
  }
}

/** A constant β (InstructGPT's β = 0.02): update() does nothing. */
export class FixedKLController implements KLController {
  readonly value: number;

  constructor(beta: number) {
    checkFiniteNumber('FixedKLController', 'beta', beta);
    if (beta < 0) fail('FixedKLController', `beta must be ≥ 0, got ${beta}`);
    this.value = beta;
  }

  update(_currentKL: number, _nSteps: number): void {}
}

// ---- best-of-N and evaluation ----

/**
 * Upper bound on KL(best-of-n ‖ base) in nats, for picking the best of n samples of the base policy
 * (Beirami et al. 2024; the "analytic" formula of Stiennon et al. 2020 / Gao et al. 2022):
 *   KL ≤ log n − (n − 1)/n.       0 at n = 1, increasing in n.
 */
export function bestOfNKLBound(n: number): number {
  checkPositiveInteger('bestOfNKLBound', 'n', n);
  return Math.log(n) - (n - 1) / n;
}

/** z for a two-sided 95% normal interval. */
const Z95 = 1.959963984540054;

/**
 * Pairwise win rate of system A over system B on the same prompts, by the hidden gold reward:
 *   per prompt: 1 if goldA > goldB, ½ if equal (a tie), 0 otherwise;  winRate = mean over the n prompts.
 *   ties = the NUMBER of tied prompts.
 * ci: the 95% Wilson score interval (Wilson 1927) for the win fraction p̂ = winRate with n trials:
 *   (p̂ + z²/2n ± z·sqrt(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n),  z = 1.96.
 * Ties enter as half-wins, i.e. p̂ is plugged in as if each prompt were a win/loss coin. A tie's outcome ½ has
 * less variance than a coin flip, so with ties the interval is slightly conservative (too wide), never too narrow.
 * Wilson rather than the normal (Wald) interval because it stays inside [0, 1] and is sound at p̂ = 0 or 1 and small n.
 */
export function winRate(goldA: ArrayLike<number>, goldB: ArrayLike<number>): { winRate: number; ties: number; ci: [number, number]; n: number } {
  const n = goldA.length;
  if (n < 1) fail('winRate', 'goldA is empty (need at least one prompt)');
  checkLength('winRate', 'goldB', goldB, n);
  let wins = 0;
  let ties = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(goldA[i]) || Number.isNaN(goldB[i])) fail('winRate', `gold score of prompt ${i} is NaN`);
    if (goldA[i] > goldB[i]) wins++;
    else if (goldA[i] === goldB[i]) ties++;
  }
  const p = (wins + 0.5 * ties) / n;
  const z2 = Z95 * Z95;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // Mathematically lo ≤ p̂ ≤ hi and both lie in [0, 1]; the clamps only undo rounding (e.g. hi = 1 − 1e-16 at p̂ = 1).
  return { winRate: p, ties, ci: [Math.min(p, Math.max(0, center - half)), Math.max(p, Math.min(1, center + half))], n };
}

/**
 * How much of the returns' variance the value head explains (TRL val/explained_variance, CleanRL):
 *   1 − Var(R − V) / Var(R)        over real tokens (population variances; the ratio does not care which).
 * 1 is perfect, 0 is no better than predicting the mean, negative is worse. NaN when Var(R) = 0 (undefined;
 * CleanRL returns NaN too).
 */
export function explainedVariance(values: ArrayLike<number>, returns: ArrayLike<number>, mask: ArrayLike<number>): number {
  const fn = 'explainedVariance';
  checkLength(fn, 'returns', returns, values.length);
  const count = checkMask(fn, mask, values.length);
  requireTokens(fn, count, 1);
  const residual = Float64Array.from(values, (v, i) => returns[i] - v);
  const varReturns = maskedVar(returns, mask, false);
  return varReturns === 0 ? NaN : 1 - maskedVar(residual, mask, false) / varReturns;
}

/**
 * Exponential moving average of weights, in place (InstructGPT uses EMA decay 0.992 for its PPO models):
 *   ema ← decay·ema + (1 − decay)·x
 */
export function emaUpdate(ema: Float32Array, x: ArrayLike<number>, decay: number): void {
  checkLength('emaUpdate', 'x', x, ema.length);
  checkInRange('emaUpdate', 'decay', decay, 0, 1, false, false);
  for (let i = 0; i < ema.length; i++) ema[i] = decay * ema[i] + (1 - decay) * x[i];
}

/**
 * Fraction of item pairs that two rankings order the same way (1 = identical order, 0 = reversed; a
 * normalised Kendall-τ distance: (τ + 1)/2). Each ranking lists the same distinct item ids, best → worst.
 * Used for labeler–gold and RM–gold agreement (cf. InstructGPT's 72.6% inter-labeler agreement).
 */
export function pairwiseAgreement(orderA: ArrayLike<number>, orderB: ArrayLike<number>): number {
  const fn = 'pairwiseAgreement';
  const n = orderA.length;
  if (n < 2) fail(fn, `orderA must rank at least 2 items, got ${n}`);
  checkLength(fn, 'orderB', orderB, n);
  const rankInB = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if (rankInB.has(orderB[i])) fail(fn, `orderB lists item ${orderB[i]} twice`);
    rankInB.set(orderB[i], i);
  }
  const seenA = new Set<number>();
  for (let i = 0; i < n; i++) {
    if (seenA.has(orderA[i])) fail(fn, `orderA lists item ${orderA[i]} twice`);
    if (!rankInB.has(orderA[i])) fail(fn, `item ${orderA[i]} of orderA is missing from orderB`);
    seenA.add(orderA[i]);
  }
  // orderA puts item orderA[i] above orderA[j] for i < j; count the pairs orderB agrees on.
  let same = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) if (rankInB.get(orderA[i])! < rankInB.get(orderA[j])!) same++;
  }
  return same / ((n * (n - 1)) / 2);
}
