// The engine worker: a thin wrapper that runs the engine (./engine) in a Web Worker. The page's host: the browser's
// WebGPU, and the bundled files fetched from the site (import.meta.env.BASE_URL). Commands arrive as messages; each
// is handled as it comes (a running pipeline does not block pause/stop), and every failure becomes an error event.
// A heartbeat goes out every HEARTBEAT_INTERVAL_MS for the page's watchdog: a timer, so it stops when this thread
// hangs or dies, not while it awaits the GPU.
import { browserGpu, createRuntime } from '../gpu';
import { createEngine, type EngineHost } from './engine';
import { type Command, HEARTBEAT_INTERVAL_MS, type WorkerMessage } from './protocol';

function post(message: WorkerMessage, transfer: Transferable[] = []): void {
  self.postMessage(message, { transfer });
}

setInterval(() => post({ type: 'heartbeat' }), HEARTBEAT_INTERVAL_MS);

const host: EngineHost = {
  runtime: () => createRuntime(browserGpu(), 'worker'),
  asset: async (path) => {
    const url = new URL(`${import.meta.env.BASE_URL}${path}`, self.location.origin).href;
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${url}`);
    return new Uint8Array(await response.arrayBuffer());
  },
};

const engine = createEngine(post, host);

self.onmessage = (e: MessageEvent<Command>) => {
  // handle() posts its own errors; this catches what escapes it (a bug), so nothing fails silently.
  engine.handle(e.data).catch((err: unknown) => post({ type: 'error', kind: 'internal', message: err instanceof Error ? err.message : String(err) }));
};
