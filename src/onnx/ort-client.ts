// The page's way to ONNX Runtime Web: each greedy run (./ort-greedy.ts) goes to a worker of its own (./ort.worker.ts),
// started for it and ended after it, so neither loading the runtime (a 14 MB WebAssembly module, fetched from this
// build's own assets) nor running the model ever holds up the page's main thread, and nothing of onnxruntime-web is
// loaded before the first run.
import type { GreedyContinuation, GreedyRequest } from './ort-greedy';

/** The worker's one answer. */
export type OrtReply = { ok: true; continuation: GreedyContinuation } | { ok: false; message: string };

/** The greedy continuation of the request in ONNX Runtime Web; rejects with what went wrong (a load, a run, the worker). */
export function greedyInOrtWorker(request: GreedyRequest): Promise<GreedyContinuation> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./ort.worker.ts', import.meta.url), { type: 'module', name: 'onnx-runtime' });
    worker.onmessage = (e: MessageEvent<OrtReply>) => {
      worker.terminate();
      if (e.data.ok) resolve(e.data.continuation);
      else reject(new Error(e.data.message));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      reject(new Error(`The ONNX Runtime worker failed: ${e.message || 'its script could not be loaded'}`));
    };
    worker.postMessage(request, [request.onnx.buffer]);
  });
}
