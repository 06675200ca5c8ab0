// Float64 reference for causal multi-head self-attention (shaders/attention_forward.wgsl,
// attention_backward_dq.wgsl, attention_backward_dkv.wgsl), written like llm.c's train_gpt2.c: the T×T scores
// and probabilities are materialised (fine on the CPU for test sizes) and the backward is the plain chain rule.
// Layout: qkv (B,T,3C) is GPT-2's c_attn output, q at channels [0,C), k at [C,2C), v at [2C,3C); head h uses
// channels h·HS..(h+1)·HS of each, HS = C/NH. out (B,T,C) has the heads concatenated.

export interface AttentionDims {
  B: number;
  T: number;
  C: number;
  NH: number;
}

export interface AttentionForwardResult {
  out: Float64Array; // (B,T,C)
  /** log Σ_t2≤t exp(scale·q_t·k_t2) per (b,h,t): what the GPU forward saves for its backward. */
  lse: Float64Array; // (B,NH,T)
  /** Softmax probabilities, 0 above the diagonal. */
  att: Float64Array; // (B,NH,T,T)
}

// qkv (B,T,3C) → out (B,T,C), lse (B,NH,T), att (B,NH,T,T)
export function attentionForward(qkv: ArrayLike<number>, dims: AttentionDims): AttentionForwardResult {
  const { B, T, C, NH } = dims;
  const HS = C / NH;
  const scale = 1 / Math.sqrt(HS);
  const C3 = 3 * C;
  const out = new Float64Array(B * T * C);
  const lse = new Float64Array(B * NH * T);
  const att = new Float64Array(B * NH * T * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const q = b * T * C3 + t * C3 + h * HS;
        const attRow = (b * NH + h) * T * T + t * T;
        // scores against keys t2 ≤ t, and their max
        let maxval = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const k = b * T * C3 + t2 * C3 + C + h * HS;
          let s = 0;
          for (let i = 0; i < HS; i++) s += qkv[q + i] * qkv[k + i];
          att[attRow + t2] = s * scale;
          maxval = Math.max(maxval, s * scale);
        }
        let sum = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          att[attRow + t2] = Math.exp(att[attRow + t2] - maxval);
          sum += att[attRow + t2];
        }
        for (let t2 = 0; t2 <= t; t2++) att[attRow + t2] /= sum;
        lse[(b * NH + h) * T + t] = maxval + Math.log(sum);
        // out = Σ_t2 att·v
        const o = b * T * C + t * C + h * HS;
        for (let t2 = 0; t2 <= t; t2++) {
          const v = b * T * C3 + t2 * C3 + 2 * C + h * HS;
          for (let i = 0; i < HS; i++) out[o + i] += att[attRow + t2] * qkv[v + i];
        }
      }
    }
  }
  return { out, lse, att };
}

// qkv (B,T,3C), att (B,NH,T,T) from attentionForward, dout (B,T,C) → dqkv (B,T,3C)
export function attentionBackward(qkv: ArrayLike<number>, att: ArrayLike<number>, dout: ArrayLike<number>, dims: AttentionDims): Float64Array {
  const { B, T, C, NH } = dims;
  const HS = C / NH;
  const scale = 1 / Math.sqrt(HS);
  const C3 = 3 * C;
  const dqkv = new Float64Array(B * T * C3);
  const datt = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const q = b * T * C3 + t * C3 + h * HS;
        const attRow = (b * NH + h) * T * T + t * T;
        const o = b * T * C + t * C + h * HS;
        // out = Σ_t2 att[t2]·v[t2]  ⇒  datt[t2] = dout·v[t2], dv[t2] += att[t2]·dout
        for (let t2 = 0; t2 <= t; t2++) {
          const v = b * T * C3 + t2 * C3 + 2 * C + h * HS;
          datt[t2] = 0;
          for (let i = 0; i < HS; i++) {
            datt[t2] += qkv[v + i] * dout[o + i];
            dqkv[v + i] += att[attRow + t2] * dout[o + i];
          }
        }
        // softmax: dpreatt[t3] = Σ_t2 att[t2]·(δ(t2,t3) − att[t3])·datt[t2]
        for (let t3 = 0; t3 <= t; t3++) {
          let dpreatt = 0;
          for (let t2 = 0; t2 <= t; t2++) {
            const indicator = t2 === t3 ? 1 : 0;
            dpreatt += att[attRow + t2] * (indicator - att[attRow + t3]) * datt[t2];
          }
          // preatt[t3] = scale·q·k[t3]
          const k = b * T * C3 + t3 * C3 + C + h * HS;
          for (let i = 0; i < HS; i++) {
            dqkv[q + i] += scale * qkv[k + i] * dpreatt;
            dqkv[k + i] += scale * qkv[q + i] * dpreatt;
          }
        }
      }
    }
  }
  return dqkv;
}
