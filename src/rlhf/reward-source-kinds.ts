// The reward sources' names, their meanings and the ensemble's combination: plain data and float64 math without the
// GPU code, so the stage descriptors (and the page's main bundle) can import them. ./reward-sources.ts re-exports
// all of it beside the sources themselves; its header says what each source is.
export const REWARD_SOURCES = ['rm', 'verifier', 'ensemble', 'gold'] as const;
export type RewardSourceKind = (typeof REWARD_SOURCES)[number];

/** The checkpoint of the reward-model ensemble (the ensemble stage writes it; weights member<i>/…). */
export const ENSEMBLE_CHECKPOINT = 'reward-ensemble';

/** The checkpoint each GPU source scores with. */
export const SOURCE_CHECKPOINTS: Readonly<Partial<Record<RewardSourceKind, string>>> = Object.freeze({ rm: 'reward-model', ensemble: ENSEMBLE_CHECKPOINT });

/** How the ensemble combines its members' scores (ensemble.combine). */
export const ENSEMBLE_COMBINES = ['mean', 'min', 'uwo'] as const;
export type EnsembleCombine = (typeof ENSEMBLE_COMBINES)[number];

/** What each source means, for the settings' documentation and the page. */
export const REWARD_SOURCE_MEANINGS: Readonly<Record<RewardSourceKind, string>> = Object.freeze({
  rm: 'the reward model (the learned proxy)',
  verifier: "the task's verifier: 1 for an exact answer, 0 otherwise",
  ensemble: 'an ensemble of reward models (see ensemble.combine)',
  gold: 'the hidden gold reward (an oracle: the unattainable upper bound)',
});

/** The sources a task can provide: the reward model and the ensemble always (they learn from its preferences), the verifier and gold where it has them. */
export function supportedRewardSources(task: { readonly gold?: unknown; readonly verifier?: unknown }): RewardSourceKind[] {
  return REWARD_SOURCES.filter((k) => (k === 'verifier' ? task.verifier !== undefined : k === 'gold' ? task.gold !== undefined : true));
}

/**
 * The ensemble's reward per row: `scores[i]` holds member i's score of every row (all of one length); combined by
 * the mean, the minimum (WCO) or the mean − λ·population variance over the members (UWO). Float64 throughout.
 */
export function combineEnsemble(scores: readonly ArrayLike<number>[], combine: EnsembleCombine, lambda = 0): Float64Array {
  const M = scores.length;
  if (M === 0) throw new RangeError('combineEnsemble: no members');
  const n = scores[0].length;
  if (scores.some((s) => s.length !== n)) throw new RangeError(`combineEnsemble: the members scored different numbers of rows (${scores.map((s) => s.length).join(', ')})`);
  if (!(lambda >= 0)) throw new RangeError(`combineEnsemble: λ must be ≥ 0, got ${lambda}`);
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let sum = 0;
    let min = Infinity;
    for (let i = 0; i < M; i++) {
      sum += scores[i][r];
      min = Math.min(min, scores[i][r]);
    }
    const mean = sum / M;
    if (combine === 'mean') out[r] = mean;
    else if (combine === 'min') out[r] = min;
    else {
      let v = 0;
      for (let i = 0; i < M; i++) v += (scores[i][r] - mean) ** 2;
      out[r] = mean - lambda * (v / M);
    }
  }
  return out;
}

/** Per row, the population standard deviation of the members' scores (how much they disagree). */
export function memberSpread(scores: readonly ArrayLike<number>[]): Float64Array {
  const M = scores.length;
  const n = M ? scores[0].length : 0;
  return Float64Array.from({ length: n }, (_, r) => {
    let mean = 0;
    for (let i = 0; i < M; i++) mean += scores[i][r] / M;
    let v = 0;
    for (let i = 0; i < M; i++) v += (scores[i][r] - mean) ** 2;
    return Math.sqrt(v / M);
  });
}

