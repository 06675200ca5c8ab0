// embedding_decode: token + position embedding of a few tokens per row taken from a token sequence buffer at
// per-row positions (generation: rows of a batch stand at different positions).
//   s = pos[b] + offset + i,   out[b,i,:] = wte[tokens[b,s], :] + wpe[s, :]
// A token id ≥ V writes NaN into its row (as embedding_forward). A position s ≥ min(W, maxT) has no token or
// position row: its output row is left untouched.
// Shapes: tokens (B,W) u32 — each row's whole sequence so far (prompt, then generated ids); pos (B) u32;
// wte (V,C); wpe (maxT,C); out (B,Tn,C).
// Legend: B batch, W sequence buffer width, Tn tokens embedded per row, C channels, V vocabulary, maxT positions.
// Parallel: one thread per output element (b, i, c), 256 per workgroup; neighbouring threads read neighbouring
// channels of the same table rows (coalesced). The grid folds into (x, y) past 65535 workgroups.
struct Params { B: u32, Tn: u32, C: u32, V: u32, W: u32, maxT: u32, offset: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;     // (B,W)
@group(0) @binding(2) var<storage, read> pos: array<u32>;        // (B)
@group(0) @binding(3) var<storage, read> wte: array<f32>;        // (V,C)
@group(0) @binding(4) var<storage, read> wpe: array<f32>;        // (maxT,C)
@group(0) @binding(5) var<storage, read_write> out: array<f32>;  // (B,Tn,C)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let idx = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (idx >= p.B * p.Tn * p.C) { return; }
  let c = idx % p.C;
  let bi = idx / p.C;   // b·Tn + i
  let i = bi % p.Tn;
  let b = bi / p.Tn;
  let s = pos[b] + p.offset + i;
  if (s >= p.W || s >= p.maxT) { return; }
  let id = tokens[b * p.W + s];
  if (id >= p.V) {
    var nan_bits = 0x7fc00000u;   // a runtime var: a constant NaN is a WGSL compile error
    out[idx] = bitcast<f32>(nan_bits);
    return;
  }
  out[idx] = wte[id * p.C + c] + wpe[s * p.C + c];
}
