// A lab store and a run store wired as the page wires them, with a fake worker: commands the store sends are
// collected in `sent`, downloads in `downloads`, and `emit` routes synthetic worker events through the bridge
// (inside `wrap`, e.g. React's act in component tests). Events the stores do not map go to `others`.
import type { AdapterReport } from '../../src/gpu/runtime';
import { createLabStore } from '../../src/store';
import { routeEvent } from '../../src/store/bridge';
import { createRunStore } from '../../src/store/run';
import type { Command, EngineEvent } from '../../src/worker/protocol';

/** An adapter report like SwiftShader's; `device` tells two adapters apart. */
export function softwareAdapter(device = ''): AdapterReport {
  return { vendor: 'google', architecture: 'swiftshader', device, description: '', software: true, features: {}, limits: {} } as unknown as AdapterReport;
}

export function labStores(options: { wrap?: (apply: () => void) => void } = {}) {
  const wrap = options.wrap ?? ((apply) => apply());
  const sent: Command[] = [];
  const downloads: { name: string; mime: string; bytes: Uint8Array }[] = [];
  const others: EngineEvent[] = [];
  const lab = createLabStore({ download: (name, mime, bytes) => downloads.push({ name, mime, bytes }) });
  lab.setState({ send: (c) => sent.push(c) });
  const run = createRunStore({ schedule: () => () => {} });
  const emit = (...events: EngineEvent[]) => wrap(() => events.forEach((e) => routeEvent(e, { lab, run, others: (x) => others.push(x) })));
  return { lab, run, sent, downloads, others, emit };
}
