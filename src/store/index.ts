// The page's state: one zustand store built from slices. For now the engine slice: what the worker reports.
import { create } from 'zustand';
import type { AdapterReport } from '../gpu/runtime';
import type { EngineEvent } from '../worker/protocol';

export type EngineStatus =
  | { state: 'starting' }
  | { state: 'ready'; adapter: AdapterReport }
  | { state: 'error'; kind: 'no-adapter' | 'device-lost' | 'internal'; message: string };

export interface EngineSlice {
  engine: EngineStatus;
  applyEngineEvent(event: EngineEvent): void;
}

export const useLabStore = create<EngineSlice>()((set) => ({
  engine: { state: 'starting' },
  applyEngineEvent: (event) => {
    switch (event.type) {
      case 'ready':
        set({ engine: { state: 'ready', adapter: event.adapter } });
        break;
      case 'error':
        set({ engine: { state: 'error', kind: event.kind, message: event.message } });
        break;
    }
  },
}));
