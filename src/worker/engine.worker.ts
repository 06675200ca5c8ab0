// The engine worker: owns the GPUDevice, answers Commands with Events (see ./protocol).
import { browserGpu, createRuntime, DeviceLostError, type GpuRuntime, NoAdapterError } from '../gpu';
import type { Command, EngineEvent } from './protocol';

let runtime: GpuRuntime | undefined;

function post(event: EngineEvent): void {
  self.postMessage(event);
}

function errorEvent(e: unknown): EngineEvent {
  const message = e instanceof Error ? e.message : String(e);
  const kind = e instanceof NoAdapterError ? 'no-adapter' : e instanceof DeviceLostError ? 'device-lost' : 'internal';
  return { type: 'error', kind, message };
}

async function handle(command: Command): Promise<void> {
  switch (command.type) {
    case 'init': {
      runtime ??= await createRuntime(browserGpu(), 'worker');
      runtime.device.lost.then((info) => {
        if (info.reason !== 'destroyed') post(errorEvent(new DeviceLostError(info.reason, info.message)));
      });
      post({ type: 'ready', adapter: runtime.adapter });
      break;
    }
  }
}

self.onmessage = (e: MessageEvent<Command>) => {
  handle(e.data).catch((err) => post(errorEvent(err)));
};
