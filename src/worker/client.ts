// Page-side handle on the engine worker: sends Commands, delivers Events, and turns a crashed worker into an
// error event instead of silence.
import type { Command, EngineEvent } from './protocol';

export interface EngineClient {
  send(command: Command): void;
  terminate(): void;
}

export function startEngine(onEvent: (event: EngineEvent) => void): EngineClient {
  const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'rlhf-engine' });
  worker.onmessage = (e: MessageEvent<EngineEvent>) => onEvent(e.data);
  worker.onerror = (e) => {
    e.preventDefault();
    onEvent({ type: 'error', kind: 'internal', message: `The engine worker crashed: ${e.message || 'unknown error'}` });
  };
  return {
    send: (command) => worker.postMessage(command),
    terminate: () => worker.terminate(),
  };
}
