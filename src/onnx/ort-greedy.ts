// Greedy generation with an exported policy (./gpt-export.ts) in ONNX Runtime Web, and how its logits compare with
// the engine's: the page's ONNX panel runs it in a worker of its own (./ort.worker.ts, started by ./ort-client.ts);
// Node tests run the same code on onnxruntime-web's Node build. The ORT module is a parameter, never imported here,
// so the page's main bundle (which uses largestLogitDifference) carries none of onnxruntime-web.
//
// The exported model has no KV cache: each step runs the whole sequence so far and reads the last position's logits.
// The choice is the engine's greedy rule (src/kernels/sample.ts at temperature 0): the first index of the maximum.
import type * as Ort from 'onnxruntime-web';

/** What a greedy run needs: the model, the prompt's token ids (BOS first), at most how many tokens, and the EOS. */
export interface GreedyRequest {
  onnx: Uint8Array<ArrayBuffer>;
  tokens: number[];
  maxNewTokens: number;
  eos: number;
}

export interface GreedyContinuation {
  /** The generated ids, through the EOS when one came. */
  ids: number[];
  /** (ids.length, vocabulary): the logits each id was chosen from, step after step. */
  logits: Float32Array<ArrayBuffer>;
}

/** The logits (vocabulary) at the last position of a token sequence. */
export type NextLogits = (tokens: readonly number[]) => Promise<Float32Array>;

/** The first index of the largest value; a NaN is passed over (it is the choice only when all are NaN). */
export function firstArgmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best] || Number.isNaN(values[best])) best = i;
  return best;
}

/** Continues `tokens` greedily: at most `maxNewTokens` ids, stopping after `eos`. */
export async function greedyContinuation(next: NextLogits, tokens: readonly number[], maxNewTokens: number, eos: number): Promise<GreedyContinuation> {
  const sequence = [...tokens];
  const rows: Float32Array[] = [];
  while (rows.length < maxNewTokens) {
    const logits = await next(sequence);
    rows.push(logits);
    const id = firstArgmax(logits);
    sequence.push(id);
    if (id === eos) break;
  }
  const V = rows[0]?.length ?? 0;
  const logits = new Float32Array(rows.length * V);
  rows.forEach((row, i) => logits.set(row, i * V));
  return { ids: sequence.slice(tokens.length), logits };
}

/** Runs the request's model in ONNX Runtime (`ort`, its WebAssembly backend): the greedy continuation and its logits. */
export async function greedyInOrt(ort: typeof Ort, { onnx, tokens, maxNewTokens, eos }: GreedyRequest): Promise<GreedyContinuation> {
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
  } catch (e) {
    throw new Error(`ONNX Runtime Web could not load the model on its WebAssembly backend: ${(e as Error).message}`);
  }
  try {
    return await greedyContinuation(
      async (sequence) => {
        const T = sequence.length;
        const { logits } = await session.run({ tokens: new ort.Tensor('int64', BigInt64Array.from(sequence, BigInt), [1, T]) });
        const V = logits.dims[2];
        return (logits.data as Float32Array).slice((T - 1) * V, T * V);
      },
      tokens,
      maxNewTokens,
      eos,
    );
  } catch (e) {
    throw new Error(`ONNX Runtime Web failed to run the model: ${(e as Error).message}`);
  } finally {
    await session.release();
  }
}

/** The largest |a − b| over two equal-length logit arrays (steps × vocabulary), and the step it is at; NaN if any is. */
export function largestLogitDifference(a: Float32Array, b: Float32Array, vocabSize: number): { difference: number; step: number } {
  if (a.length !== b.length || a.length % vocabSize !== 0) {
    throw new Error(`largestLogitDifference: ${a.length} and ${b.length} logits are not the same number of steps of ${vocabSize}`);
  }
  let largest = { difference: 0, step: 0 };
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return { difference: NaN, step: Math.floor(i / vocabSize) };
    if (d > largest.difference) largest = { difference: d, step: Math.floor(i / vocabSize) };
  }
  return largest;
}
