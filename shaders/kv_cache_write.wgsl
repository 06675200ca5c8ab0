// kv_cache_write: appends this step's keys and values to a layer's KV cache.
//   k_cache[b,h,s,d] = qkv[b,i,C + h·HS + d],  v_cache[b,h,s,d] = qkv[b,i,2C + h·HS + d],  s = pos[b] + offset + i
// for the Tn new tokens i < Tn of every row; slots s ≥ maxT are skipped (never written out of bounds).
// Rows have their own positions (ragged prompts, right-padded): row b's new tokens start at slot pos[b] + offset.
// Shapes: qkv (B,Tn,3C) is GPT-2's c_attn output (q | k | v, heads contiguous inside each); pos (B) u32;
// k_cache, v_cache (B,NH,maxT,HS): per head, the keys (values) of every position are contiguous HS-rows, the
// layout decode_forward reads (one layer of its (L,B,NH,maxT,HS) cache; generation's prefill fills it here).
// Legend: B batch, Tn new tokens per row, C channels, NH heads, HS = C/NH head size, maxT cache slots per row.
// Parallel: one thread per (b, i, c) of the B·Tn·C channels; each copies one key and one value float (reads of
// qkv are contiguous across threads). The grid folds into (x, y) past 65535 workgroups.
struct Params { B: u32, Tn: u32, C: u32, NH: u32, maxT: u32, offset: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;             // (B,Tn,3C)
@group(0) @binding(2) var<storage, read> pos: array<u32>;             // (B)
@group(0) @binding(3) var<storage, read_write> k_cache: array<f32>;   // (B,NH,maxT,HS)
@group(0) @binding(4) var<storage, read_write> v_cache: array<f32>;   // (B,NH,maxT,HS)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let idx = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (idx >= p.B * p.Tn * p.C) { return; }
  let c = idx % p.C;
  let bi = idx / p.C;     // b·Tn + i
  let i = bi % p.Tn;
  let b = bi / p.Tn;
  let s = pos[b] + p.offset + i;
  if (s >= p.maxT) { return; }
  let HS = p.C / p.NH;
  let h = c / HS;
  let d = c % HS;
  let src = bi * 3u * p.C + p.C + c;
  let dst = ((b * p.NH + h) * p.maxT + s) * HS + d;
  k_cache[dst] = qkv[src];
  v_cache[dst] = qkv[src + p.C];
}
