// The page's state: one zustand store built from slices. The engine slice mirrors what the worker reports; the
// sampling slice holds the base model's latest continuation.
import { create } from 'zustand';
import type { AdapterReport } from '../gpu/runtime';
import type { Command, EngineErrorKind, EngineEvent, ModelInfo } from '../worker/protocol';

type ErrorKind = EngineErrorKind;

export type EngineStatus =
  | { state: 'starting' }
  | { state: 'ready'; adapter: AdapterReport }
  | { state: 'error'; kind: ErrorKind; message: string; adapter?: AdapterReport };

export interface Sample {
  prompt: string;
  text: string;
  tokensPerSecond: number;
}

export interface EngineSlice {
  engine: EngineStatus;
  model: ModelInfo | undefined;
  applyEngineEvent(event: EngineEvent): void;
}

export interface SamplingSlice {
  sample: Sample | undefined;
  generating: boolean;
  /** Sends a command to the worker; set once the worker starts. */
  send: (command: Command) => void;
  generate(prompt: string, temperature: number, seed: number): void;
}

export type LabState = EngineSlice & SamplingSlice;

export const useLabStore = create<LabState>()((set, get) => ({
  engine: { state: 'starting' },
  model: undefined,
  sample: undefined,
  generating: false,
  send: () => {
    throw new Error('The engine worker has not started');
  },
  generate: (prompt, temperature, seed) => {
    set({ generating: true });
    get().send({ type: 'generate', prompt, maxNewTokens: 200, temperature, seed });
  },
  applyEngineEvent: (event) => {
    switch (event.type) {
      case 'ready':
        set({ engine: { state: 'ready', adapter: event.adapter } });
        break;
      case 'model':
        set({ model: event.info });
        break;
      case 'file':
        saveFile(event.name, event.mime, event.bytes);
        break;
      case 'sample':
        set({
          generating: false,
          sample: { prompt: event.prompt, text: event.text, tokensPerSecond: event.tokens / (event.ms / 1000) },
        });
        break;
      case 'error': {
        // Pipeline errors (config, alarm, pipeline) belong to the pipeline's view, not to the engine's status.
        if (event.kind === 'config' || event.kind === 'alarm' || event.kind === 'pipeline') break;
        const engine = get().engine;
        const adapter = engine.state === 'ready' ? engine.adapter : undefined;
        set({ generating: false, engine: { state: 'error', kind: event.kind, message: event.message, adapter } });
        break;
      }
    }
  },
}));

/** Hands a file from the worker to the browser's download. */
function saveFile(name: string, mime: string, bytes: Uint8Array<ArrayBuffer>): void {
  const url = URL.createObjectURL(new Blob([bytes], { type: mime }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
