// The check of the current policy in ONNX Runtime Web, as the page runs it (the ONNX panel, src/ui/OnnxPanel.tsx):
// `check` asks the worker for the policy's ONNX export (`policy-onnx`), runs it greedily in ONNX Runtime Web (`runOrt`:
// src/onnx/ort-client.ts, a worker of its own, loaded at the first check), sends ONNX Runtime's continuation back for
// the engine's side (`policy-greedy`: its own greedy continuation on the same weights, and its logits along ONNX
// Runtime's), and compares the two: both continuations, where they first differ, and the largest logit difference
// over the generated positions. The worker is reached only through `send` and ONNX Runtime only through `runOrt`, so
// Node tests drive the store with fakes.
import { create } from 'zustand';
import { greedyInOrtWorker } from '../onnx/ort-client';
import { type GreedyContinuation, type GreedyRequest, largestLogitDifference } from '../onnx/ort-greedy';
import type { Command, EngineEvent, PipelineCheckpointName } from '../worker/protocol';

/** How many tokens each side generates at most (the context may allow fewer). */
export const ONNX_CHECK_TOKENS = 48;

export interface OnnxCheckResult {
  /** The checkpoint checked; undefined: the loaded base model. */
  model: PipelineCheckpointName | undefined;
  prompt: string;
  onnx: { ids: number[]; text: string };
  engine: { ids: number[]; text: string };
  /** The first position where the two continuations differ; undefined when they are the same. */
  firstDifference: number | undefined;
  /** max |ONNX Runtime's logit − the engine's| over ONNX Runtime's generated positions and the vocabulary. */
  largest: { difference: number; step: number };
}

export type OnnxCheckStatus =
  | { state: 'idle' }
  /** Waiting for the worker's export, for ONNX Runtime's continuation, then for the engine's side. */
  | { state: 'exporting' | 'onnx-runtime' | 'engine'; prompt: string }
  | { state: 'done'; result: OnnxCheckResult }
  | { state: 'failed'; message: string };

export interface OnnxCheckState {
  status: OnnxCheckStatus;
  /** Checks the current policy on `prompt` (ignored while a check is going). */
  check(prompt: string): void;
  /** Feed every worker event here; the check's answers and errors move it on. */
  applyEvent(event: EngineEvent): void;
}

/** Worker errors that answer the check's commands start with their names. */
const CHECK_ERROR = /^policy-(onnx|greedy):/;

const isGoing = (s: OnnxCheckStatus) => s.state === 'exporting' || s.state === 'onnx-runtime' || s.state === 'engine';

/** The first index where `a` and `b` differ (a length too); undefined when they are equal. */
function firstDifference(a: readonly number[], b: readonly number[]): number | undefined {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return undefined;
}

export function createOnnxCheckStore(send: (command: Command) => void, runOrt: (request: GreedyRequest) => Promise<GreedyContinuation> = greedyInOrtWorker) {
  return create<OnnxCheckState>()((set, get) => {
    /** ONNX Runtime's side of the check going, once it has run. */
    let onnx: { model: PipelineCheckpointName | undefined; continuation: GreedyContinuation } | undefined;
    /** Counts checks, so an answer of an abandoned one (failed meanwhile) changes nothing. */
    let checks = 0;
    const fail = (message: string) => {
      onnx = undefined;
      set({ status: { state: 'failed', message } });
    };
    return {
      status: { state: 'idle' },
      check: (prompt) => {
        if (isGoing(get().status)) return;
        checks++;
        onnx = undefined;
        set({ status: { state: 'exporting', prompt } });
        send({ type: 'policy-onnx', prompt, maxNewTokens: ONNX_CHECK_TOKENS });
      },
      applyEvent: (event) => {
        const status = get().status;
        if (!isGoing(status)) return;
        switch (event.type) {
          case 'policy-onnx': {
            if (status.state !== 'exporting') return;
            set({ status: { state: 'onnx-runtime', prompt: status.prompt } });
            const check = checks;
            runOrt({ onnx: event.onnx, tokens: event.tokens, maxNewTokens: event.maxNewTokens, eos: event.eos }).then(
              (continuation) => {
                if (check !== checks || get().status.state !== 'onnx-runtime') return;
                onnx = { model: event.model, continuation };
                set({ status: { state: 'engine', prompt: status.prompt } });
                send({ type: 'policy-greedy', continuation: continuation.ids.slice() });
              },
              (e: unknown) => {
                if (check === checks) fail(e instanceof Error ? e.message : String(e));
              },
            );
            return;
          }
          case 'policy-greedy': {
            if (status.state !== 'engine' || !onnx) return;
            const { ids, logits } = onnx.continuation;
            set({
              status: {
                state: 'done',
                result: {
                  model: onnx.model,
                  prompt: status.prompt,
                  onnx: { ids, text: event.continuationText },
                  engine: { ids: event.ids, text: event.text },
                  firstDifference: firstDifference(ids, event.ids),
                  largest: largestLogitDifference(logits, event.logits, logits.length / ids.length),
                },
              },
            });
            onnx = undefined;
            return;
          }
          case 'error':
            // The check's own refusals, and whatever stops the engine answering (a lost device, a crashed worker).
            if (event.kind === 'pipeline' ? CHECK_ERROR.test(event.message) : event.kind !== 'config' && event.kind !== 'alarm') fail(event.message);
            return;
        }
      },
    };
  });
}

export type OnnxCheckStore = ReturnType<typeof createOnnxCheckStore>;
