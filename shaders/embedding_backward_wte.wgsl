// embedding_backward_wte: dwte[v, c] = Σ_{positions n with tokens[n] = v} dout[n, c]   (dwte += … when
// p.accumulate = 1, e.g. when the LM head shares wte and has already written its gradient).
// The scatter is turned into a gather by a CSR index built on the CPU from the same token ids
// (buildTokenIndex in src/kernels/embedding.ts): positions[offsets[v] .. offsets[v+1]) are the flat positions
// n = b·T + t holding token v, in increasing order. Each thread owns one (v, c) and sums its positions in that
// order: no two threads write the same element and the result is deterministic (no atomics).
// Shapes: N = B·T positions, C channels, V vocabulary. dout (N,C); offsets (V+1); positions (N); dwte (V,C).
// Parallel: one thread per (v, c), 256 per workgroup; neighbouring threads read neighbouring channels of the
// same dout row (coalesced). Ids absent from the batch cost two index reads (and, when accumulating, nothing
// else). The grid folds into (x, y) past 65535 workgroups.
struct Params { v: u32, c: u32, n: u32, accumulate: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dout: array<f32>;          // (N,C)
@group(0) @binding(2) var<storage, read> offsets: array<u32>;       // (V+1)
@group(0) @binding(3) var<storage, read> positions: array<u32>;     // (N)
@group(0) @binding(4) var<storage, read_write> dwte: array<f32>;    // (V,C)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.v * p.c) { return; }
  let v = i / p.c;
  let c = i - v * p.c;
  let start = offsets[v];
  let end = min(offsets[v + 1u], p.n);
  if (p.accumulate == 1u && start >= end) { return; }
  var s = 0.0;
  for (var k = start; k < end; k++) { s += dout[positions[k] * p.c + c]; }
  if (p.accumulate == 1u) { dwte[i] += s; } else { dwte[i] = s; }
}
