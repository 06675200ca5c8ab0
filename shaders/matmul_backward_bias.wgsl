// matmul_backward_bias: dbias[j] = Σ_i dout[i, j]  (or dbias[j] += … when p.accumulate = 1), the bias gradient
// of out = A·B + bias, summed over every row (batch and positions folded into M).
// Shapes: dout (M, N), dbias (N); any M, N ≥ 1.
// Parallel: one workgroup per 32 columns, 256 threads = 32 columns × 8 row lanes. Lane y sums rows y, y + 8,
// y + 16, … of its column in order (each 32-thread row lane reads one contiguous 128-byte run of a row); the 8
// lane sums are then added in fixed order from workgroup memory. Deterministic: no atomics, same order every run.
struct Params { m: u32, n: u32, accumulate: u32 }

const COLS: u32 = 32u;
const ROWS: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dout: array<f32>;          // (M, N)
@group(0) @binding(2) var<storage, read_write> dbias: array<f32>;   // (N)

var<workgroup> partial: array<f32, COLS * ROWS>;

@compute @workgroup_size(COLS, ROWS)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let j = wid.x * COLS + lid.x;
  var sum = 0.0;
  if (j < p.n) {
    for (var i = lid.y; i < p.m; i += ROWS) {
      sum += dout[i * p.n + j];
    }
  }
  partial[lid.y * COLS + lid.x] = sum;
  workgroupBarrier();
  if (lid.y == 0u && j < p.n) {
    var total = partial[lid.x];
    for (var y = 1u; y < ROWS; y++) { total += partial[y * COLS + lid.x]; }
    if (p.accumulate == 1u) { dbias[j] += total; } else { dbias[j] = total; }
  }
}
