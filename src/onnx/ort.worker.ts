// ONNX Runtime Web in a worker of its own (started by ./ort-client.ts): one greedy run per worker. The runtime is
// imported when the run comes, on its WebAssembly backend (the wasm-only build: no WebGPU or WebGL code), single-
// threaded (threads need cross-origin isolation, which the page may not have), with its .wasm file from this build.
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import type { OrtReply } from './ort-client';
import { greedyInOrt, type GreedyRequest } from './ort-greedy';

const reply = (message: OrtReply, transfer: Transferable[] = []) => self.postMessage(message, { transfer });

self.onmessage = async (e: MessageEvent<GreedyRequest>) => {
  let ort: typeof import('onnxruntime-web');
  try {
    ort = await import('onnxruntime-web/wasm');
  } catch (err) {
    return reply({ ok: false, message: `ONNX Runtime Web could not be loaded: ${(err as Error).message}` });
  }
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = { wasm: new URL(wasmUrl, self.location.href).href };
  try {
    const continuation = await greedyInOrt(ort, e.data);
    reply({ ok: true, continuation }, [continuation.logits.buffer]);
  } catch (err) {
    reply({ ok: false, message: (err as Error).message });
  }
};
