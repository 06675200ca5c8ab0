// Float64 reference for the per-token log-probability gather (shaders/logprob_forward.wgsl,
// logprob_backward.wgsl), used by PPO ratios and KL penalties.
// Shapes: N = B·T rows, V vocabulary size; temperature τ > 0 divides the logits.

// logits (N,V), tokens (N) → logprobs (N) = log_softmax(logits/τ)[token]
export function logprobForward(
  logits: ArrayLike<number>,
  tokens: ArrayLike<number>,
  N: number,
  V: number,
  temperature = 1,
): Float64Array {
  const logprobs = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let max = -Infinity;
    for (let i = 0; i < V; i++) max = Math.max(max, logits[n * V + i] / temperature);
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(logits[n * V + i] / temperature - max);
    logprobs[n] = logits[n * V + tokens[n]] / temperature - max - Math.log(sum);
  }
  return logprobs;
}

// logits (N,V), tokens (N), dlogprobs (N) → dlogits (N,V) = dlogp·(onehot(token) − softmax(logits/τ))/τ
export function logprobBackward(
  logits: ArrayLike<number>,
  tokens: ArrayLike<number>,
  dlogprobs: ArrayLike<number>,
  N: number,
  V: number,
  temperature = 1,
): Float64Array {
  const dlogits = new Float64Array(N * V);
  for (let n = 0; n < N; n++) {
    let max = -Infinity;
    for (let i = 0; i < V; i++) max = Math.max(max, logits[n * V + i] / temperature);
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(logits[n * V + i] / temperature - max);
    for (let i = 0; i < V; i++) {
      const p = Math.exp(logits[n * V + i] / temperature - max) / sum;
      dlogits[n * V + i] = (dlogprobs[n] * ((i === tokens[n] ? 1 : 0) - p)) / temperature;
    }
  }
  return dlogits;
}
