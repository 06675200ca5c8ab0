// softmax_backward: with y = softmax(s·x) (softmax_forward's output),
//   dinp[r, c] = s · y[r, c] · (dout[r, c] − Σ_c' dout[r, c'] · y[r, c'])
// over the visible columns; masked columns (causal variant: c > r % T) get 0 and are left out of the sum, so
// garbage in dout there cannot leak in. Accumulates (dinp += …) when p.accumulate = 1.
// Shapes: out (R, L), dout (R, L), dinp (R, L); R rows of length L (see softmax_forward for the causal layout).
// Parallel: one workgroup of WG threads per row (WG a power of 2 ≤ 256); each thread sums dout·y over columns
// lid, lid + WG, …; a fixed-order tree in workgroup memory combines the partials, then every thread writes its
// columns. Rows fold into (x, y) past 65535 workgroups.
struct Params { rows: u32, cols: u32, causal_t: u32, accumulate: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> out: array<f32>;          // (R, L) forward output y
@group(0) @binding(2) var<storage, read> dout: array<f32>;         // (R, L)
@group(0) @binding(3) var<storage, read_write> dinp: array<f32>;   // (R, L)

override WG: u32 = 256;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.rows) { return; } // uniform across the workgroup
  let base = row * p.cols;
  var n = p.cols;
  if (p.causal_t > 0u) { n = min(p.cols, row % p.causal_t + 1u); }

  var acc = 0.0;
  for (var c = lid; c < n; c += WG) { acc += dout[base + c] * out[base + c]; }
  red[lid] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { red[lid] += red[lid + stride]; }
    workgroupBarrier();
  }
  let dot_dy_y = red[0];

  for (var c = lid; c < p.cols; c += WG) {
    var g = 0.0;
    if (c < n) { g = p.scale * out[base + c] * (dout[base + c] - dot_dy_y); }
    if (p.accumulate == 1u) { dinp[base + c] += g; } else { dinp[base + c] = g; }
  }
}
