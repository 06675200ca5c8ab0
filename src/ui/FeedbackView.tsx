// Human feedback: one prompt and two completions side by side; you say which is better (Prefer A / Prefer B, or
// Skip), and when you have labelled enough, "Train reward model on my labels" trains the reward model on your
// rankings alone — PPO run afterwards then follows your preference instead of the simulated labelers'. The counter
// and your agreement with the hidden gold labeler (computed in the worker) are shown as you go.
// Keys, while the view has focus: 1 = Prefer A, 2 = Prefer B, space = Skip.
// FeedbackView is presentational (state and callbacks in props); FeedbackPanel connects it to a feedback store
// (src/store/feedback.ts), which is where the worker is reached.
import type { KeyboardEvent } from 'react';
import type { FeedbackStats, FeedbackStore } from '../store/feedback';
import type { LabelItem } from '../worker/protocol';
import './teaching.css';

/** Labels needed before the reward model can train on them alone (one to train on, one held out). */
export const MIN_TRAIN_LABELS = 2;

export interface FeedbackViewProps {
  /** The item shown (its first two completions are A and B); undefined when none is waiting. */
  item: LabelItem | undefined;
  /** Judgements made in this session (the counter). */
  labelled: number;
  skipped?: number;
  /** The worker's statistics of all your labels. */
  stats: FeedbackStats | undefined;
  /** More items are being sampled. */
  requesting?: boolean;
  /** A run is going (the worker samples and trains one thing at a time): requesting and training are disabled. */
  busy?: boolean;
  /** The policy that sampled the items ('sft', 'ppo', 'base'). */
  policy?: string;
  /** The latest refusal of a feedback command. */
  error?: string;
  /** A hint shown with the actions (e.g. what to run first, or what to do after training). */
  note?: string;
  onPrefer(winner: 0 | 1): void;
  onSkip(): void;
  /** Asks for items to label. */
  onRequest(): void;
  /** Trains the reward model on your labels. */
  onTrain(): void;
}

const percent = (x: number) => `${(100 * x).toFixed(0)}%`;

export function FeedbackView({ item, labelled, skipped = 0, stats, requesting = false, busy = false, policy, error, note, onPrefer, onSkip, onRequest, onTrain }: FeedbackViewProps) {
  const pair = item !== undefined && item.completions.length >= 2;
  const onKeyDown = (e: KeyboardEvent<HTMLElement>) => {
    if (!pair || e.altKey || e.ctrlKey || e.metaKey) return;
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
  return (
    <section className="feedback" aria-label="Human feedback" tabIndex={0} onKeyDown={onKeyDown}>
      <h2>Your feedback</h2>
      <p className="muted">
        Pick the better completion. Keys: <kbd>1</kbd> Prefer A, <kbd>2</kbd> Prefer B, <kbd>Space</kbd> Skip.
      </p>
      {pair ? (
        <>
          <p className="feedback-prompt" aria-label="Prompt">
            {item.prompt}
          </p>
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
            {policy && <span className="muted">sampled from the {policy.toUpperCase()} policy</span>}
          </div>
        </>
      ) : (
        <div className="feedback-actions">
          <span role="status">{requesting ? 'Sampling completions to label…' : 'Nothing to label right now.'}</span>
          <button type="button" onClick={onRequest} disabled={requesting || busy}>
            Get pairs to label
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
      <button type="button" onClick={onTrain} disabled={busy || count < MIN_TRAIN_LABELS} title={count < MIN_TRAIN_LABELS ? `Label at least ${MIN_TRAIN_LABELS} pairs first` : undefined}>
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
      labelled={s.labelled}
      skipped={s.skipped}
      stats={s.stats}
      requesting={s.requesting}
      busy={busy}
      policy={s.policy}
      error={s.error}
      note={note}
      onPrefer={s.prefer}
      onSkip={s.skip}
      onRequest={() => s.request()}
      onTrain={() => {
        onTrain?.();
        s.train();
      }}
    />
  );
}
