// Human feedback: one prompt and two completions side by side; you say which is better (Prefer A / Prefer B, or
// Skip). With K > 2 completions per prompt (chosen here, 2…9) you rank them instead: a list to reorder by drag or
// keyboard (RankList.tsx), best at the top, then Submit ranking (or Skip). When you have labelled enough, "Train reward model on my labels" trains the reward model on your
// rankings alone — PPO run afterwards then follows your preference instead of the simulated labelers'. The counter
// and your agreement with the hidden gold labeler (computed in the worker) are shown as you go.
// Keys for a pair, while the view has focus: 1 = Prefer A, 2 = Prefer B, space = Skip; for a ranking, on a focused
// item: Alt+ArrowUp / Alt+ArrowDown move it.
// FeedbackView is presentational (state and callbacks in props); FeedbackPanel connects it to a feedback store
// (src/store/feedback.ts), which is where the worker is reached.
import { type KeyboardEvent, useId, useState } from 'react';
import { type FeedbackStats, type FeedbackStore, MAX_LABEL_K, MIN_LABEL_K } from '../store/feedback';
import type { LabelItem } from '../worker/protocol';
import { RankList } from './RankList';
import './teaching.css';

/** Labels needed before the reward model can train on them alone (one to train on, one held out). */
export const MIN_TRAIN_LABELS = 2;

/** The choices of K, completions per prompt. */
const K_CHOICES = Array.from({ length: MAX_LABEL_K - MIN_LABEL_K + 1 }, (_, i) => MIN_LABEL_K + i);

export interface FeedbackViewProps {
  /** The item shown: a pair (A and B) when it has two completions, else a ranking; undefined when none is waiting. */
  item: LabelItem | undefined;
  /** Completions per prompt asked for next (2 = pairs). */
  k: number;
  /** Judgements made in this session (the counter). */
  labelled: number;
  skipped?: number;
  /** The worker's statistics of all your labels. */
  stats: FeedbackStats | undefined;
  /** More items are being sampled. */
  requesting?: boolean;
  /** A run is going (the worker samples and trains one thing at a time): requesting and training are disabled. */
  busy?: boolean;
  /** The policy that sampled the items ('base', 'sft' or a trained policy's checkpoint). */
  policy?: string;
  /** The latest refusal of a feedback command. */
  error?: string;
  /** A hint shown with the actions (e.g. what to run first, or what to do after training). */
  note?: string;
  onPrefer(winner: 0 | 1): void;
  /** The item's completions ranked: indices best → worst. */
  onRank(order: number[]): void;
  onSkip(): void;
  /** A new K was chosen. */
  onK(k: number): void;
  /** Asks for items to label. */
  onRequest(): void;
  /** Trains the reward model on your labels. */
  onTrain(): void;
}

const percent = (x: number) => `${(100 * x).toFixed(0)}%`;

export function FeedbackView({ item, k, labelled, skipped = 0, stats, requesting = false, busy = false, policy, error, note, onPrefer, onRank, onSkip, onK, onRequest, onTrain }: FeedbackViewProps) {
  const id = useId();
  const pair = item !== undefined && item.completions.length === 2;
  // Ranking an item (K > 2), or about to ask for such items.
  const ranking = item !== undefined ? !pair : k > 2;
  // The order being made of the item shown, until it is submitted (a new item starts as sampled).
  const [reordered, setReordered] = useState<{ id: string; order: number[] }>();
  const order = item && (reordered?.id === item.id ? reordered.order : item.completions.map((_, i) => i));
  const onKeyDown = (e: KeyboardEvent<HTMLElement>) => {
    // Digits typed into the K choice are the choice's.
    if (!pair || e.altKey || e.ctrlKey || e.metaKey || e.target instanceof HTMLSelectElement) return;
    if (e.key === '1' || e.key === '2') {
      e.preventDefault();
      onPrefer(e.key === '1' ? 0 : 1);
    } else if (e.key === ' ' && !(e.target instanceof HTMLButtonElement)) {
      // Space on a focused button presses that button instead.
      e.preventDefault();
      onSkip();
    }
  };
  const count = stats?.count ?? 0;
  const sampledFrom = policy && <span className="muted">sampled from the {policy.toUpperCase()} policy</span>;
  return (
    <section className="feedback" aria-label="Human feedback" tabIndex={0} onKeyDown={onKeyDown}>
      <h2>Your feedback</h2>
      {ranking ? (
        <p className="muted">
          Rank the completions, best at the top: drag them, or focus one and press <kbd>Alt</kbd>+<kbd>↑</kbd> / <kbd>Alt</kbd>+<kbd>↓</kbd> (or use its ↑ / ↓ buttons), then Submit ranking.
        </p>
      ) : (
        <p className="muted">
          Pick the better completion. Keys: <kbd>1</kbd> Prefer A, <kbd>2</kbd> Prefer B, <kbd>Space</kbd> Skip.
        </p>
      )}
      <p>
        <label htmlFor={`${id}-k`}>Completions per prompt (K)</label>{' '}
        <select id={`${id}-k`} value={k} disabled={requesting} onChange={(e) => onK(Number(e.target.value))} aria-describedby={`${id}-k-hint`}>
          {K_CHOICES.map((choice) => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </select>{' '}
        <span id={`${id}-k-hint`} className="muted">
          2: pick the better of a pair; more: rank them all (InstructGPT asked its labelers to rank 4 to 9).
        </span>
      </p>
      {item && (
        <p className="feedback-prompt" aria-label="Prompt">
          {item.prompt}
        </p>
      )}
      {pair ? (
        <>
          <div className="feedback-pair">
            {(['A', 'B'] as const).map((name, i) => (
              <div key={name} className="feedback-completion" data-completion={name}>
                <h4>Completion {name}</h4>
                <p className="feedback-text">{item.completions[i]}</p>
              </div>
            ))}
          </div>
          <div className="feedback-actions">
            <button type="button" onClick={() => onPrefer(0)}>
              Prefer A
            </button>
            <button type="button" onClick={() => onPrefer(1)}>
              Prefer B
            </button>
            <button type="button" onClick={onSkip}>
              Skip
            </button>
            {sampledFrom}
          </div>
        </>
      ) : item && order ? (
        <>
          <RankList completions={item.completions} order={order} onOrder={(next) => setReordered({ id: item.id, order: next })} />
          <div className="feedback-actions">
            <button type="button" onClick={() => onRank(order.slice())}>
              Submit ranking
            </button>
            <button type="button" onClick={onSkip}>
              Skip
            </button>
            {sampledFrom}
          </div>
        </>
      ) : (
        <div className="feedback-actions">
          <span role="status">{requesting ? 'Sampling completions to label…' : 'Nothing to label right now.'}</span>
          <button type="button" onClick={onRequest} disabled={requesting || busy}>
            {ranking ? 'Get completions to rank' : 'Get pairs to label'}
          </button>
        </div>
      )}
      <div className="feedback-stats">
        <span data-stat="labelled">
          Labelled: <span className="num">{labelled}</span>
          {skipped > 0 && ` (skipped ${skipped})`}
        </span>
        <span data-stat="count">
          Your rankings: <span className="num">{count}</span>
        </span>
        <span data-stat="agreement" title="Fraction of your pairs ordered as the hidden gold reward orders them (computed in the worker; ties not counted)">
          Agreement with the gold labeler: <span className="num">{stats?.goldAgreement == null ? '—' : `${percent(stats.goldAgreement)} of ${stats.pairs} pairs`}</span>
        </span>
      </div>
      <button type="button" onClick={onTrain} disabled={busy || count < MIN_TRAIN_LABELS} title={count < MIN_TRAIN_LABELS ? `Label at least ${MIN_TRAIN_LABELS} ${ranking ? 'prompts' : 'pairs'} first` : undefined}>
        Train reward model on my labels
      </button>
      {note && <p className="muted feedback-note">{note}</p>}
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
    </section>
  );
}

export interface FeedbackPanelProps {
  store: FeedbackStore;
  /** A run is going. */
  busy?: boolean;
  note?: string;
  /** Called when "Train reward model on my labels" is pressed, before the store sends the command. */
  onTrain?: () => void;
}

/** FeedbackView on a feedback store. */
export function FeedbackPanel({ store, busy = false, note, onTrain }: FeedbackPanelProps) {
  const s = store();
  return (
    <FeedbackView
      item={s.queue[0]}
      k={s.k}
      labelled={s.labelled}
      skipped={s.skipped}
      stats={s.stats}
      requesting={s.requesting}
      busy={busy}
      policy={s.policy}
      error={s.error}
      note={note}
      onPrefer={s.prefer}
      onRank={s.rank}
      onSkip={s.skip}
      onK={s.setK}
      onRequest={() => s.request()}
      onTrain={() => {
        onTrain?.();
        s.train();
      }}
    />
  );
}
