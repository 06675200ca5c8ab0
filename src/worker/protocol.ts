// The typed boundary between the page and the engine worker: the UI sends Commands and receives Events.
// Only plain, structured-cloneable data crosses it; the GPUDevice stays in the worker.
import type { AdapterReport } from '../gpu/runtime';
import type { GPTConfig } from '../model/config';

/** Where the bundled base model is served from (public/models/). */
export const BASE_MODEL_PATH = 'models/base-tiny.safetensors';

export interface GenerateRequest {
  prompt: string;
  maxNewTokens: number;
  /** 0 is greedy. */
  temperature: number;
  seed: number;
}

export type ExportFormat = 'safetensors' | 'onnx';

export type Command = { type: 'init' } | ({ type: 'generate' } & GenerateRequest) | { type: 'export'; format: ExportFormat };

export interface ModelInfo {
  config: GPTConfig;
  parameters: number;
  tokenizer: 'char' | 'bpe';
  /** The checkpoint's metadata (how it was trained), as written by `npm run pretrain`. */
  metadata: Record<string, string>;
}

export type EngineEvent =
  | { type: 'ready'; adapter: AdapterReport }
  | { type: 'model'; info: ModelInfo }
  | { type: 'sample'; prompt: string; text: string; tokens: number; ms: number }
  | { type: 'file'; name: string; mime: string; bytes: Uint8Array<ArrayBuffer> }
  | { type: 'error'; kind: 'no-adapter' | 'device-lost' | 'model' | 'internal'; message: string };
