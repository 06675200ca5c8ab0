// Launchers for shaders/logprob_forward.wgsl and logprob_backward.wgsl: per-token log-probabilities under a
// temperature (PPO ratios, KL penalties) and their gradient.
// Shapes: N = B·T rows, V vocabulary.
import { params, type Step, type Tensor } from '../gpu';
import { assertDType, assertSize } from './checks';
import { grid1d } from './grid';
import { type RowOptions, rowGeometry } from './rows';

function rowsAndVocab(kernel: string, logits: Tensor, tokens: Tensor): [number, number] {
  const N = tokens.size;
  if (N < 1) throw new Error(`${kernel}: ${tokens.label} (tokens) is empty`);
  if (logits.size % N !== 0 || logits.size === 0) {
    throw new Error(`${kernel}: ${logits.label} has ${logits.size} elements, not N·V for N = ${N} tokens`);
  }
  const V = logits.size / N;
  if (logits.shape.length > 1 && logits.shape[logits.shape.length - 1] !== V) {
    throw new Error(`${kernel}: ${logits.label} has shape [${logits.shape}], expected last dimension V = ${V} for N = ${N} tokens`);
  }
  return [N, V];
}

function checkTemperature(kernel: string, temperature: number): void {
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new Error(`${kernel}: temperature must be a positive finite number, got ${temperature}`);
  }
}

/**
 * logits (N,V), tokens (N) u32 → logprobs (N) = log_softmax(logits/τ)[token], stats (N,2) saved for the backward
 * (row max of logits/τ and log Σ exp(logits/τ − max)). Tokens live on the GPU and are not checked here: a token
 * ≥ V yields NaN. options.variant: 'tree' (a workgroup of 256 threads per row) or 'serial' (a thread per row), see
 * rows.ts.
 */
export function logprobForward(
  step: Step,
  logits: Tensor, // (N,V)
  tokens: Tensor, // (N) u32
  logprobs: Tensor, // (N)
  stats: Tensor, // (N,2)
  temperature = 1,
  options: RowOptions = {},
): void {
  const k = 'logprob_forward';
  assertDType(k, tokens, 'u32');
  for (const t of [logits, logprobs, stats]) assertDType(k, t, 'f32');
  const [N, V] = rowsAndVocab(k, logits, tokens);
  assertSize(k, logprobs, N, 'logprobs (N)');
  assertSize(k, stats, 2 * N, 'stats (N,2)');
  checkTemperature(k, temperature);
  const { WG, TPR } = rowGeometry(k, options, step, { WG: 256, TPR: 256 });
  step.dispatch({
    shader: k,
    overrides: { WG, TPR },
    uniforms: params([N, V], [temperature]),
    bindings: [logits, tokens, logprobs, stats],
    workgroups: grid1d(N, WG / TPR), // WG/TPR rows per workgroup
  });
}

/**
 * logits (N,V), tokens (N) u32, stats (N,2) from logprobForward with the same temperature, dlogprobs (N)
 * → dlogits (N,V) = dlogp·(onehot − softmax(logits/τ))/τ, overwritten or accumulated into.
 */
export function logprobBackward(
  step: Step,
  logits: Tensor, // (N,V)
  tokens: Tensor, // (N) u32
  stats: Tensor, // (N,2)
  dlogprobs: Tensor, // (N)
  dlogits: Tensor, // (N,V)
  temperature = 1,
  accumulate = false,
): void {
  const k = 'logprob_backward';
  assertDType(k, tokens, 'u32');
  for (const t of [logits, stats, dlogprobs, dlogits]) assertDType(k, t, 'f32');
  const [N, V] = rowsAndVocab(k, logits, tokens);
  assertSize(k, stats, 2 * N, 'stats (N,2)');
  assertSize(k, dlogprobs, N, 'dlogprobs (N)');
  assertSize(k, dlogits, N * V, 'dlogits (N,V)');
  checkTemperature(k, temperature);
  step.dispatch({
    shader: k,
    uniforms: params([N, V, accumulate ? 1 : 0], [temperature]),
    bindings: [logits, tokens, stats, dlogprobs, dlogits],
    workgroups: grid1d(N * V, 256),
  });
}
