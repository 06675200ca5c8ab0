// sequence_copy: the first Wd columns of every row of a (B,Ws) buffer into a dense (B,Wd) tensor, bit for bit:
//   dst[b,t] = src[b,t],  t < Wd ≤ Ws
// Generation keeps each row's tokens in a (B,W) sequence buffer; a full-context forward at length T ≤ W needs them
// as a dense (B,T) tensor. Elements are copied as u32 bit patterns, so any 4-byte dtype works.
// Shapes: src (B,Ws), dst (B,Wd). Legend: B rows, Ws/Wd source/destination row widths.
// Parallel: one thread per destination element, 256 per workgroup (reads and writes contiguous within rows); the
// grid folds into (x, y) past 65535 workgroups.
struct Params { B: u32, Ws: u32, Wd: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;         // (B,Ws)
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;   // (B,Wd)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.B * p.Wd) { return; }
  let b = i / p.Wd;
  let t = i - b * p.Wd;
  dst[i] = src[b * p.Ws + t];
}
