// Page-side handle on the engine worker: sends Commands and delivers Events. A worker that fails outside its command
// handlers is ended and reported as an 'internal' error (the page offers Restart engine: src/ui/ErrorPanel.tsx), in
// words that say which failure it was:
//   crashed        an uncaught exception in the worker (its error event): its state is unknown from then on
//   messageerror   a message from the worker could not be deserialized: an event is lost, so page and engine disagree
//   watchdog       no message for watchdogMs: the worker's thread hangs, or it died without an error event. The worker
//                  posts a heartbeat every HEARTBEAT_INTERVAL_MS from a timer, so only its own synchronous work holds
//                  the heartbeat up, never the GPU work it awaits.
import { type Command, type EngineEvent, HEARTBEAT_INTERVAL_MS, type WorkerMessage } from './protocol';

/**
 * The silence after which the worker counts as hung: 60 heartbeats. The longest the worker's timers were held up in a
 * whole nano pipeline run in headless Chromium on SwiftShader (2 busy cores) was 0.27 s: a step's GPU work runs while
 * the worker awaits it. A real hang is still reported within a minute.
 */
export const WATCHDOG_MS = 60 * HEARTBEAT_INTERVAL_MS;

export interface EngineClient {
  send(command: Command): void;
  /** Ends the worker; nothing more is reported. */
  terminate(): void;
}

/** The parts of a Worker the client uses (Node tests pass a fake). */
export interface EngineWorker {
  onmessage: ((e: MessageEvent<WorkerMessage>) => void) | null;
  onerror: ((e: ErrorEvent) => void) | null;
  onmessageerror: ((e: MessageEvent) => void) | null;
  postMessage(command: Command): void;
  terminate(): void;
}

export interface EngineClientOptions {
  /** Default: WATCHDOG_MS, or the page's `rlhfLabWatchdogMs` when a test set it before the page loaded. */
  watchdogMs?: number;
  /** Default: the engine worker (./engine.worker.ts). */
  createWorker?: () => EngineWorker;
}

/** The watchdog's timeout a test set on the page (an init script), if any. */
function pageWatchdogMs(): number | undefined {
  const ms = (globalThis as { rlhfLabWatchdogMs?: unknown }).rlhfLabWatchdogMs;
  return typeof ms === 'number' && ms > 0 ? ms : undefined;
}

/** The engine worker's name (the page benchmark's probe picks it out by it). */
export const ENGINE_WORKER_NAME = 'rlhf-engine';

// The options stay a literal (Vite reads them when it bundles the worker): the name is ENGINE_WORKER_NAME.
const startWorker = (): EngineWorker => new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'rlhf-engine' });

export function startEngine(onEvent: (event: EngineEvent) => void, { watchdogMs = pageWatchdogMs() ?? WATCHDOG_MS, createWorker = startWorker }: EngineClientOptions = {}): EngineClient {
  const worker = createWorker();
  let ended = false;
  let lastHeard = performance.now();
  const checkEveryMs = watchdogMs / 4;
  let lastCheck = lastHeard;

  const watchdog = setInterval(() => {
    const now = performance.now();
    // A late check means this page was held up (a long task, a throttled background tab): the worker's messages may
    // still be queued behind it, so the silence is counted afresh rather than blamed on the worker.
    if (now - lastCheck > 2 * checkEveryMs) lastHeard = now;
    lastCheck = now;
    if (now - lastHeard >= watchdogMs) fail(`The engine worker stopped responding: no heartbeat for ${watchdogMs / 1000} s, so it was stopped.`);
  }, checkEveryMs);

  const end = () => {
    ended = true;
    clearInterval(watchdog);
    worker.terminate();
  };
  const fail = (message: string) => {
    if (ended) return;
    end();
    onEvent({ type: 'error', kind: 'internal', message });
  };

  worker.onmessage = (e) => {
    if (ended) return;
    lastHeard = performance.now();
    if (e.data.type !== 'heartbeat') onEvent(e.data);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    fail(`The engine worker crashed: ${e.message || 'unknown error'}.`);
  };
  worker.onmessageerror = () => fail('A message from the engine worker could not be read (messageerror): the page and the engine no longer agree, so it was stopped.');

  return {
    send: (command) => worker.postMessage(command),
    terminate: end,
  };
}
