// What the lab keeps in IndexedDB (src/store/persist.ts) and a "Clear saved data" button. The counts come from the
// caller (e.g. from load() at start-up, updated as it saves); clearing calls onClear (default clearSavedData) and
// says when it is done or why it failed.
import { useState } from 'react';
import type { SavedDataSummary } from '../store';
import { clearSavedData } from '../store/persist';
import './teaching.css';

export interface SavedDataProps {
  /** What is saved now (omit when unknown). */
  summary?: SavedDataSummary;
  /** Wipes the saved data (default: clearSavedData() on the "rlhf-lab" database). */
  onClear?: () => Promise<void> | void;
  /** Called after a successful clear (e.g. to reset the counts). */
  onCleared?: () => void;
}

export function SavedData({ summary, onClear = () => clearSavedData(), onCleared }: SavedDataProps) {
  const [status, setStatus] = useState<{ busy: boolean; text?: string; failed?: boolean }>({ busy: false });
  const clear = async () => {
    setStatus({ busy: true, text: 'Clearing…' });
    try {
      await onClear();
      setStatus({ busy: false, text: 'Saved data cleared.' });
      onCleared?.();
    } catch (e) {
      setStatus({ busy: false, failed: true, text: `Could not clear the saved data: ${e instanceof Error ? e.message : String(e)}` });
    }
  };
  return (
    <div className="saved-data" role="group" aria-label="Saved data">
      <span>
        {summary
          ? `Saved in this browser: ${summary.metrics} metric records, ${summary.samples} samples, ${summary.labels} labels, ${summary.checkpoints} checkpoints` +
            (summary.sweepRuns > 0 ? `, and ${summary.sweepRuns} earlier ${summary.sweepRuns === 1 ? 'run' : 'runs'} of a sweep.` : '.')
          : 'Runs, labels and checkpoints are saved in this browser.'}
      </span>
      <button type="button" onClick={clear} disabled={status.busy}>
        Clear saved data
      </button>
      {status.text && (
        <span role={status.failed ? 'alert' : 'status'} className={status.failed ? 'error-text' : 'muted'}>
          {status.text}
        </span>
      )}
    </div>
  );
}
