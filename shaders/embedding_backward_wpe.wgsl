// embedding_backward_wpe: dwpe[t, c] = Σ_b dout[b, t, c] for t < T, summed over b in order (deterministic);
// rows t ≥ T of a longer table (maxT > T) get 0 (or are left as they are when accumulating).
// dwpe += … when p.accumulate = 1.
// Shapes: B batch, T sequence length, maxT ≥ T rows of the table, C channels. dout (B,T,C); dwpe (maxT,C).
// Parallel: one thread per (t, c), 256 per workgroup; neighbouring threads read neighbouring channels
// (coalesced). The grid folds into (x, y) past 65535 workgroups.
struct Params { b: u32, t: u32, max_t: u32, c: u32, accumulate: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dout: array<f32>;          // (B,T,C)
@group(0) @binding(2) var<storage, read_write> dwpe: array<f32>;    // (maxT,C)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.max_t * p.c) { return; }
  let tc = p.t * p.c;
  var s = 0.0;
  if (i < tc) {
    for (var b = 0u; b < p.b; b++) { s += dout[b * tc + i]; }
  }
  if (p.accumulate == 1u) { dwpe[i] += s; } else { dwpe[i] = s; }
}
