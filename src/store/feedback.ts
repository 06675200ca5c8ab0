// Human feedback as the page sees it: the items waiting to be labelled (sampled by the worker, src/worker/engine.ts
// `label-request`), the counts, and the worker's statistics of your labels (agreement with the hidden gold reward,
// which only the worker can compute). Actions turn a click into the worker's commands: prefer/rank send one `labels`
// command per judgement at once (a label is never lost to a reload mid-batch), skip just drops the item, and when
// the queue runs dry more items are requested. `train` starts the reward-model stage on your labels alone
// (humanLabels 'replace'), so PPO run afterwards follows your preference.
// The worker is reached only through the `send` given to createFeedbackStore, so tests drive it with a fake.
import { create } from 'zustand';
import type { Command, EngineEvent, HumanLabelMode, LabelItem, PipelineStage } from '../worker/protocol';

export interface FeedbackStats {
  /** Rankings you made (one per labelled item). */
  count: number;
  /** Pairwise comparisons in them (1 per item when K = 2). */
  pairs: number;
  /** Fraction of your pairs ordered as the hidden gold reward orders them; null without a gold reward. */
  goldAgreement: number | null;
}

export interface FeedbackOptions {
  /** Items asked for per request (default 8). */
  batchSize?: number;
  /** Completions per item (default 2: a pair, Prefer A / Prefer B). */
  k?: number;
  /** Ask for more items when the last one is labelled or skipped (default true). */
  autoRefill?: boolean;
  /** The stages `train` runs (default ['rm']; ['rm', 'ppo'] to go straight on to PPO). */
  trainStages?: PipelineStage[];
}

export interface FeedbackState {
  /** Items waiting, the one shown first. */
  queue: LabelItem[];
  /** The policy that sampled the latest items. */
  policy: 'ppo' | 'sft' | 'base' | undefined;
  /** A label-request is on its way. */
  requesting: boolean;
  /** Judgements sent and skips in this session. */
  labelled: number;
  skipped: number;
  /** The worker's latest statistics (all your rankings, including restored ones). */
  stats: FeedbackStats | undefined;
  /** The latest refusal of a feedback command (cleared by the next success). */
  error: string | undefined;
  request(count?: number): void;
  /** The current item's completion `winner` is better than the other (K = 2: 0 is A, 1 is B). */
  prefer(winner: number): void;
  /** The current item's completions ranked: indices best → worst, all of them (any K). */
  rank(order: number[]): void;
  skip(): void;
  train(mode?: HumanLabelMode): void;
  /** Forgets every label, here and in the worker. */
  clear(): void;
  /** Feed every worker event here; the feedback ones update the state. */
  applyEvent(event: EngineEvent): void;
}

/** Worker error messages that answer a feedback command start with the command's name (a failed `restore` is the
 * saved-data view's to show, not this one's). */
const FEEDBACK_ERROR = /^(label-request|labels|clear-labels):|^start: the reward model needs/;

export function createFeedbackStore(send: (command: Command) => void, options: FeedbackOptions = {}) {
  const { batchSize = 8, k = 2, autoRefill = true, trainStages = ['rm'] } = options;
  return create<FeedbackState>()((set, get) => {
    const next = (labelled: boolean) => {
      const [, ...rest] = get().queue;
      set((s) => ({ queue: rest, labelled: s.labelled + (labelled ? 1 : 0), skipped: s.skipped + (labelled ? 0 : 1) }));
      if (rest.length === 0 && autoRefill) get().request();
    };
    return {
      queue: [],
      policy: undefined,
      requesting: false,
      labelled: 0,
      skipped: 0,
      stats: undefined,
      error: undefined,
      request: (count = batchSize) => {
        if (get().requesting) return;
        set({ requesting: true, error: undefined });
        send({ type: 'label-request', count, k });
      },
      prefer: (winner) => {
        const item = get().queue[0];
        if (!item) return;
        if (item.completions.length !== 2) throw new RangeError(`prefer: the item has ${item.completions.length} completions; rank them instead`);
        if (winner !== 0 && winner !== 1) throw new RangeError(`prefer: winner must be 0 (A) or 1 (B), got ${winner}`);
        send({ type: 'labels', labels: [{ id: item.id, order: [winner, 1 - winner] }] });
        next(true);
      },
      rank: (order) => {
        const item = get().queue[0];
        if (!item) return;
        send({ type: 'labels', labels: [{ id: item.id, order: order.slice() }] });
        next(true);
      },
      skip: () => {
        if (get().queue.length > 0) next(false);
      },
      train: (mode = 'replace') => send({ type: 'start', stages: trainStages.slice(), humanLabels: mode }),
      clear: () => {
        set({ queue: [], labelled: 0, skipped: 0, error: undefined });
        send({ type: 'clear-labels' });
      },
      applyEvent: (event) => {
        switch (event.type) {
          case 'label-items':
            set((s) => ({ queue: [...s.queue, ...event.items], policy: event.policy, requesting: false, error: undefined }));
            break;
          case 'labels-stats':
            set({ stats: { count: event.count, pairs: event.pairs, goldAgreement: event.goldAgreement }, error: undefined });
            break;
          case 'pipeline-config':
            // A new configuration: items of the old one can no longer be labelled.
            set({ queue: [], requesting: false });
            break;
          case 'error':
            if (event.kind === 'pipeline' && FEEDBACK_ERROR.test(event.message)) set({ error: event.message, requesting: false });
            break;
        }
      },
    };
  });
}

export type FeedbackStore = ReturnType<typeof createFeedbackStore>;
