// Human feedback as the page sees it: the items waiting to be labelled (sampled by the worker, src/worker/feedback.ts
// `label-request`), the counts, and the worker's statistics of your labels (agreement with the hidden gold reward,
// which only the worker can compute). Actions turn a click into the worker's commands: prefer/rank send one `labels`
// command per judgement at once (a label is never lost to a reload mid-batch), skip just drops the item (the next
// request tells the worker, which may then offer its prompt again), and when the queue runs dry more items are
// requested. `train` starts the reward-model stage on your labels alone (humanLabels 'replace'), so PPO run
// afterwards follows your preference. K, the completions per item (2 for a pair, up to 9 to rank), can be changed as
// you go: items of another K waiting in the queue are dropped (and told to the worker as skipped ones are).
// The worker is reached only through the `send` given to createFeedbackStore, so tests drive it with a fake.
import { create } from 'zustand';
import { type Command, type EngineEvent, type HumanLabelMode, type LabelItem, MAX_LABEL_K, MIN_LABEL_K, type PipelineStage } from '../worker/protocol';

export interface FeedbackStats {
  /** Rankings you made (one per labelled item). */
  count: number;
  /** Pairwise comparisons in them (1 per item when K = 2). */
  pairs: number;
  /** Fraction of your pairs ordered as the hidden gold reward orders them; null without a gold reward. */
  goldAgreement: number | null;
}

export { MAX_LABEL_K, MIN_LABEL_K };

export interface FeedbackOptions {
  /** Items asked for per request (default 8). */
  batchSize?: number;
  /** Completions per item at first (default 2: a pair, Prefer A / Prefer B). */
  k?: number;
  /** Ask for more items when the last one is labelled or skipped (default true). */
  autoRefill?: boolean;
  /** The stages `train` runs (default ['rm']; add a policy stage to go straight on to it). */
  trainStages?: PipelineStage[];
}

export interface FeedbackState {
  /** Items waiting, the one shown first. */
  queue: LabelItem[];
  /** The policy that sampled the latest items. */
  policy: string | undefined;
  /** A label-request is on its way. */
  requesting: boolean;
  /** Judgements sent and skips in this session. */
  labelled: number;
  skipped: number;
  /** The worker's latest statistics (all your rankings, including restored ones). */
  stats: FeedbackStats | undefined;
  /** The latest refusal of a feedback command (cleared by the next success). */
  error: string | undefined;
  /** Completions per item asked for (MIN_LABEL_K…MAX_LABEL_K). */
  k: number;
  /** Asks for `k` completions per item from now on; waiting items of another K are dropped (and more asked for, as
   * when the queue runs dry). Throws a RangeError for a K the worker would refuse. */
  setK(k: number): void;
  request(count?: number): void;
  /** The current item's completion `winner` is better than the other (K = 2: 0 is A, 1 is B). */
  prefer(winner: number): void;
  /** The current item's completions ranked: indices best → worst, each once (any K; throws a RangeError otherwise). */
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

function checkK(k: number): number {
  if (!Number.isInteger(k) || k < MIN_LABEL_K || k > MAX_LABEL_K) throw new RangeError(`K (completions per item) must be an integer in [${MIN_LABEL_K}, ${MAX_LABEL_K}], got ${k}`);
  return k;
}

/** Whether `order` lists each of 0…k-1 once. */
const isPermutation = (order: readonly number[], k: number) => order.length === k && new Set(order).size === k && order.every((i) => Number.isInteger(i) && i >= 0 && i < k);

export function createFeedbackStore(send: (command: Command) => void, options: FeedbackOptions = {}) {
  const { batchSize = 8, autoRefill = true, trainStages = ['rm'] } = options;
  const initialK = checkK(options.k ?? MIN_LABEL_K);
  return create<FeedbackState>()((set, get) => {
    // Ids of items dropped unlabelled (skipped, or of another K), for the next request's `discard`; those sent are
    // forgotten once the worker answers (a refused request leaves them for the next).
    let dropped: string[] = [];
    let discarding: string[] = [];
    const drop = (items: readonly LabelItem[]) => {
      dropped = [...dropped, ...items.map((i) => i.id)];
    };
    const refillIfEmpty = () => {
      if (get().queue.length === 0 && autoRefill) get().request();
    };
    const next = (labelled: boolean) => {
      if (!labelled) drop(get().queue.slice(0, 1));
      set((s) => ({ queue: s.queue.slice(1), labelled: s.labelled + (labelled ? 1 : 0), skipped: s.skipped + (labelled ? 0 : 1) }));
      refillIfEmpty();
    };
    return {
      queue: [],
      policy: undefined,
      requesting: false,
      labelled: 0,
      skipped: 0,
      stats: undefined,
      error: undefined,
      k: initialK,
      setK: (k) => {
        checkK(k);
        const { queue } = get();
        const kept = queue.filter((item) => item.completions.length === k);
        drop(queue.filter((item) => item.completions.length !== k));
        set({ k, queue: kept });
        if (kept.length < queue.length) refillIfEmpty();
      },
      request: (count = batchSize) => {
        if (get().requesting) return;
        set({ requesting: true, error: undefined });
        discarding = dropped;
        send({ type: 'label-request', count, k: get().k, ...(discarding.length > 0 && { discard: discarding.slice() }) });
      },
      prefer: (winner) => {
        const item = get().queue[0];
        if (!item) return;
        if (item.completions.length !== 2) throw new RangeError(`prefer: the item has ${item.completions.length} completions; rank them instead`);
        if (winner !== 0 && winner !== 1) throw new RangeError(`prefer: winner must be 0 (A) or 1 (B), got ${winner}`);
        get().rank([winner, 1 - winner]);
      },
      rank: (order) => {
        const item = get().queue[0];
        if (!item) return;
        const k = item.completions.length;
        if (!isPermutation(order, k)) throw new RangeError(`rank: order must list each of the ${k} completions' indices 0…${k - 1} once, best → worst, got ${JSON.stringify(order)}`);
        send({ type: 'labels', labels: [{ id: item.id, order: order.slice() }] });
        next(true);
      },
      skip: () => {
        if (get().queue.length > 0) next(false);
      },
      train: (mode = 'replace') => send({ type: 'start', stages: trainStages.slice(), humanLabels: mode }),
      clear: () => {
        [dropped, discarding] = [[], []]; // the worker forgets every item
        set({ queue: [], labelled: 0, skipped: 0, error: undefined });
        send({ type: 'clear-labels' });
      },
      applyEvent: (event) => {
        switch (event.type) {
          case 'label-items':
            dropped = dropped.filter((id) => !discarding.includes(id));
            discarding = [];
            set((s) => ({ queue: [...s.queue, ...event.items], policy: event.policy, requesting: false, error: undefined }));
            break;
          case 'labels-stats':
            set({ stats: { count: event.count, pairs: event.pairs, goldAgreement: event.goldAgreement }, error: undefined });
            break;
          case 'pipeline-config':
            // A new configuration: items of the old one can no longer be labelled (the worker forgot them).
            [dropped, discarding] = [[], []];
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
