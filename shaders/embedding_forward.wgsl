// embedding_forward: out[b,t,:] = wte[tokens[b,t], :] + wpe[t, :]  — GPT-2's token + position embedding.
// A token id ≥ V writes NaN into its row, so a bad id cannot train silently (the CPU-side helpers in
// src/kernels/embedding.ts reject such ids with an error before upload).
// Shapes: B batch, T sequence length, C channels, V vocabulary, maxT ≥ T rows of the position table; N = B·T.
// Parallel: one thread per output element (n, c), 256 per workgroup; neighbouring threads read neighbouring
// channels of the same table row (coalesced). The grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, t: u32, c: u32, v: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;     // (B,T)
@group(0) @binding(2) var<storage, read> wte: array<f32>;        // (V,C)
@group(0) @binding(3) var<storage, read> wpe: array<f32>;        // (maxT,C)
@group(0) @binding(4) var<storage, read_write> out: array<f32>;  // (B,T,C)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n * p.c) { return; }
  let n = i / p.c;
  let c = i - n * p.c;
  let t = n % p.t;
  let id = tokens[n];
  if (id >= p.v) {
    var nan_bits = 0x7fc00000u;   // a runtime var: a constant NaN is a WGSL compile error
    out[i] = bitcast<f32>(nan_bits);
    return;
  }
  out[i] = wte[id * p.c + c] + wpe[t * p.c + c];
}
