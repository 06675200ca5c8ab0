// adamw_update: one AdamW step (PyTorch semantics, decoupled weight decay) over params[off .. off+n):
//   g = grad·clip[1]                          (global-norm clipping factor from grad_norm.wgsl)
//   m = β1·m + (1−β1)·g,  v = β2·v + (1−β2)·g²
//   p = p − lr·wd·p − step_size · m / (√v / bc2_sqrt + eps)
// with step_size = lr / (1 − β1^t) and bc2_sqrt = √(1 − β2^t) precomputed on the CPU (which knows the step t and
// the lr schedule), exactly PyTorch's _single_tensor_adamw; algebraically p −= lr·(m̂/(√v̂ + eps) + wd·p).
// Everything the step needs is in the uniform or on the GPU, so the update follows the norm with no readback.
// Non-finite guard: when the gradient norm clip[0] is NaN or ±Inf (a diverged step), every thread returns
// before writing, so params, m and v keep their last good values; the trainer learns of it from the norm it reads
// back with the loss. The test is on the bits (exponent all ones), which fast-math compilers cannot fold away.
// Shapes: params, grads, m, v (N) — flat arenas sharing one layout; clip (2). Only [off, off + n) is touched, so
// separate dispatches can give decay and no-decay parameter groups their own weight decay. Legend: N arena size.
// Parallel: one thread per element, 256 threads per workgroup; the grid folds into (x, y) past 65535 workgroups.
struct Params {
  n: u32, off: u32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32, step_size: f32, bc2_sqrt: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> params: array<f32>; // (N)
@group(0) @binding(2) var<storage, read> grads: array<f32>;        // (N)
@group(0) @binding(3) var<storage, read_write> m: array<f32>;      // (N) first moment
@group(0) @binding(4) var<storage, read_write> v: array<f32>;      // (N) second moment
@group(0) @binding(5) var<storage, read> clip: array<f32>;         // (2) [norm, clip scale]; a non-finite norm skips the update

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let k = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (k >= p.n) { return; }
  if ((bitcast<u32>(clip[0]) & 0x7f800000u) == 0x7f800000u) { return; }
  let i = p.off + k;
  let g = grads[i] * clip[1];
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let x = params[i];
  let denom = sqrt(vi) / p.bc2_sqrt + p.eps;
  params[i] = x - p.lr * p.weight_decay * x - p.step_size * mi / denom;
}
