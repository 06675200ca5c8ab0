// Above the run row: the lessons and the config bar (the children). While a run goes they fold into one line that
// says what runs — the task, the preset, the settings changed, the lesson — with a button that shows them again, so
// the run row and the running stage's charts get the screen. Folded, they stay mounted (hidden), and keep their state
// (the URL in step with the form, an open "Advanced settings").
import { type ReactNode, useEffect, useId, useMemo, useState } from 'react';
import { type LabStore, useLabStore } from '../store';
import { checkForm } from '../store/config-form';
import { STAGE_NAMES } from '../store/run';

export interface SetupPanelsProps {
  /** Fold them (a run is going). */
  folded: boolean;
  children: ReactNode;
  lab?: LabStore;
}

export function SetupPanels({ folded, children, lab = useLabStore }: SetupPanelsProps) {
  const [shown, setShown] = useState(false);
  const id = useId();
  // Every run starts folded, whatever the reader opened during the one before.
  useEffect(() => {
    if (folded) setShown(false);
  }, [folded]);
  return (
    <>
      {folded && (
        <p className="setup-summary">
          <RunSummary lab={lab} />{' '}
          <button type="button" className="link-button" aria-expanded={shown} aria-controls={id} onClick={() => setShown(!shown)}>
            {shown ? 'Hide the lessons and settings' : 'Show the lessons and settings'}
          </button>
        </p>
      )}
      <div id={id} hidden={folded && !shown}>
        {children}
      </div>
    </>
  );
}

/** "Running sentiment on the tiny preset, 2 settings changed, with DPO", or the lesson's title and run. */
function RunSummary({ lab }: { lab: LabStore }) {
  const form = lab((s) => s.form);
  const lesson = lab((s) => (s.lessonRun?.state === 'running' ? s.lessonRun : undefined));
  const changed = useMemo(() => Object.keys(checkForm(form).overrides).length, [form]);
  const methods = form.methods.map((m) => STAGE_NAMES[m]);
  return (
    <span>
      {lesson && (
        <>
          Lesson <strong>{lesson.title}</strong>, run {lesson.index + 1} of {lesson.steps.length} ({lesson.steps[lesson.index].label}):{' '}
        </>
      )}
      Running <strong>{form.task}</strong> on the <strong>{form.preset}</strong> preset
      {changed > 0 && `, ${changed === 1 ? '1 setting' : `${changed} settings`} changed`}
      {methods.length > 0 && `, with ${methods.join(' and ')}`}.
    </span>
  );
}
