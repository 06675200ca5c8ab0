// The typed boundary between the page and the engine worker: the UI sends Commands and receives Events.
// Only plain, structured-cloneable data crosses it; the GPUDevice stays in the worker.
import type { AdapterReport } from '../gpu/runtime';

export type Command = { type: 'init' };

export type EngineEvent =
  | { type: 'ready'; adapter: AdapterReport }
  | { type: 'error'; kind: 'no-adapter' | 'device-lost' | 'internal'; message: string };
