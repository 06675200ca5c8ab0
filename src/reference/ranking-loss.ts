// Float64 reference for the InstructGPT reward-model ranking loss (shaders/ranking_loss_forward_backward.wgsl):
// labelers rank K responses to a prompt, and all C(K,2) pairs of one prompt form one batch element
// (Ouyang et al. 2022, "Training language models to follow instructions with human feedback", section 3.5):
//   loss_g = −1/C(K,2)·Σ_{i<j} log σ(r_i − r_j),  rows of group g ordered best → worst.
// Shapes: G groups, B sequences (rows), T positions. scores (B·T) holds the scalar head at every position;
// r_b = scores[b·T + last[b]]. offsets (G+1): group g is rows offsets[g] .. offsets[g+1]−1.

// softplus(x) = log(1 + eˣ) = −log σ(−x), without overflow for any x
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

// scores (B·T), last (B), offsets (G+1) → losses (G) = −1/C(K,2)·Σ_{i<j} log σ(r_i − r_j)
export function rankingLossForward(
  scores: ArrayLike<number>,
  last: ArrayLike<number>,
  offsets: ArrayLike<number>,
  T: number,
): Float64Array {
  const G = offsets.length - 1;
  const r = (b: number) => scores[b * T + last[b]];
  const losses = new Float64Array(G);
  for (let g = 0; g < G; g++) {
    const K = offsets[g + 1] - offsets[g];
    const pairs = (K * (K - 1)) / 2;
    let sum = 0;
    for (let i = offsets[g]; i < offsets[g + 1]; i++) {
      for (let j = i + 1; j < offsets[g + 1]; j++) sum += softplus(-(r(i) - r(j))); // −log σ(r_i − r_j)
    }
    losses[g] = sum / pairs;
  }
  return losses;
}

// scores (B·T), last (B), offsets (G+1) → dscores (B·T), the gradient of gradScale·Σ_g losses[g]:
// nonzero only at each row's last position
export function rankingLossBackward(
  scores: ArrayLike<number>,
  last: ArrayLike<number>,
  offsets: ArrayLike<number>,
  gradScale: number,
  B: number,
  T: number,
): Float64Array {
  const G = offsets.length - 1;
  const r = (b: number) => scores[b * T + last[b]];
  const dscores = new Float64Array(B * T);
  for (let g = 0; g < G; g++) {
    const K = offsets[g + 1] - offsets[g];
    const scale = gradScale / ((K * (K - 1)) / 2);
    for (let i = offsets[g]; i < offsets[g + 1]; i++) {
      for (let j = i + 1; j < offsets[g + 1]; j++) {
        // d/dd softplus(−d) = −σ(−d) with d = r_i − r_j: pushes r_i up and r_j down
        const dd = -sigmoid(-(r(i) - r(j)));
        dscores[i * T + last[i]] += scale * dd;
        dscores[j * T + last[j]] -= scale * dd;
      }
    }
  }
  return dscores;
}
