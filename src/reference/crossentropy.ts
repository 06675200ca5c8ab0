// Float64 reference for the fused softmax + cross-entropy (shaders/crossentropy_forward_backward.wgsl).
// Shapes: N = B·T rows, V vocabulary size. Each row has a target id and a weight (0 = ignored, e.g. a prompt
// token in SFT); gradScale is the caller's normalisation (e.g. 1/Σweights).

function logSumExp(logits: ArrayLike<number>, base: number, V: number): number {
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[base + i]);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(logits[base + i] - max);
  return max + Math.log(sum);
}

// logits (N,V), targets (N), weights (N) → losses (N) = weight·(logsumexp(logits) − logits[target])
export function crossentropyForward(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  weights: ArrayLike<number>,
  N: number,
  V: number,
): Float64Array {
  const losses = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    if (weights[n] === 0) continue;
    losses[n] = weights[n] * (logSumExp(logits, n * V, V) - logits[n * V + targets[n]]);
  }
  return losses;
}

// logits (N,V), targets (N), weights (N) → dlogits (N,V) = gradScale·weight·(softmax − onehot(target)),
// the gradient of gradScale·Σ losses.
export function crossentropyBackward(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  weights: ArrayLike<number>,
  gradScale: number,
  N: number,
  V: number,
): Float64Array {
  const dlogits = new Float64Array(N * V);
  for (let n = 0; n < N; n++) {
    if (weights[n] === 0) continue;
    const lse = logSumExp(logits, n * V, V);
    const scale = gradScale * weights[n];
    for (let i = 0; i < V; i++) {
      const p = Math.exp(logits[n * V + i] - lse);
      dlogits[n * V + i] = scale * (p - (i === targets[n] ? 1 : 0));
    }
  }
  return dlogits;
}
