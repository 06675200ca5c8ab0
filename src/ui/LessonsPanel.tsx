// "Lessons" on the page: the built-in lessons (src/ui/lessons.ts) with "Start lesson", above the configuration they
// drive. `?lesson=<id>` marks and opens one; starting it sets the form to each of its runs in turn and runs it (the
// KL sweep is three runs, one after another). While it goes, the panel says which run is going, in which stage, and
// what to look for; a lesson of several runs lists them with how each ended — a metric alarm that stopped one is
// that run's outcome — and which stages a run reused from the run before.
import { type LabStore, type LessonProgress, useLabStore } from '../store';
import { type RunStore, STAGE_NAMES, useRunStore } from '../store/run';
import { Fold } from './Fold';
import { findLesson, lessonSteps } from './lessons';
import { Lessons } from './Lessons';

const BUSY = ['running', 'paused', 'stopping'];

const STATE_TEXT = { running: 'running', done: 'finished', stopped: 'stopped', failed: 'failed' } as const;

/** How step `i` of a lesson ended (or that it is still to come), in words. */
function stepOutcome(lesson: LessonProgress, i: number, running: string): string {
  const alarm = lesson.results[i]?.alarm;
  if (alarm) return `stopped by the ${alarm.metric} alarm (${STAGE_NAMES[alarm.stage]}, step ${alarm.step}): the policy kept its last good weights`;
  if (i < lesson.index) return 'finished';
  if (i > lesson.index) return 'to come';
  return lesson.state === 'running' ? running : STATE_TEXT[lesson.state];
}

export function LessonsPanel({ lab = useLabStore, run = useRunStore }: { lab?: LabStore; run?: RunStore }) {
  const urlLesson = lab((s) => s.form.lesson);
  const lessonRun = lab((s) => s.lessonRun);
  const ready = lab((s) => s.engine.state === 'ready');
  const pending = lab((s) => s.pending !== undefined);
  const state = run((s) => s.state);
  const stage = run((s) => s.stage);
  const going = lessonRun?.state === 'running';
  const activeId = going ? lessonRun.id : (findLesson(urlLesson ?? '')?.id ?? lessonRun?.id);

  const lesson = lessonRun ? findLesson(lessonRun.id) : undefined;
  const step = lessonRun?.steps[lessonRun.index];
  const running = BUSY.includes(state) && stage ? `${STAGE_NAMES[stage]} ${state === 'paused' ? 'paused' : 'running'}` : 'running';
  const alarm = lessonRun?.results[lessonRun.index]?.alarm;
  return (
    <section className="lessons-panel" aria-label="Lessons">
      <h2>Lessons</h2>
      <Fold className="muted">
        Ready-made runs that each show one idea of the recipe, with what to look for. A link can open one: <code>?lesson=kl-sweep</code>.
      </Fold>
      {lessonRun && step && (
        <div className="lesson-status" role="status" aria-live="polite">
          <p>
            <strong>{lessonRun.title}</strong> — run {lessonRun.index + 1} of {lessonRun.steps.length}: {step.label} ({step.task}, {step.preset}),{' '}
            {stepOutcome(lessonRun, lessonRun.index, running)}.
          </p>
          {lessonRun.steps.length > 1 && (
            <ol className="lesson-outcomes" aria-label="Runs of the lesson">
              {lessonRun.steps.map((s, i) => {
                const reused = lessonRun.results[i]?.reused ?? [];
                return (
                  <li key={i} aria-current={going && i === lessonRun.index ? 'step' : undefined}>
                    {s.label}: {stepOutcome(lessonRun, i, running)}
                    {reused.length > 0 && ` — reused ${reused.map((r) => STAGE_NAMES[r]).join(', ')} from the run before`}.
                  </li>
                );
              })}
            </ol>
          )}
          {alarm && <p className="muted">{alarm.message}</p>}
          {going && lesson && (
            <>
              <p className="muted">Look for:</p>
              <ul>
                {lesson.lookFor.map((p, i) => (
                  <li key={i}>{p}</li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
      {/* Open while a lesson is chosen; otherwise the reader opens it (not controlled: the nested lessons' own
          details would toggle it through React's toggle event). */}
      <details open={activeId !== undefined || undefined}>
        <summary>Show the lessons</summary>
        <Lessons
          activeId={activeId}
          disabled={!ready || pending || going || BUSY.includes(state)}
          onStart={(l) => lab.getState().startLesson(l.id, l.title, lessonSteps(l))}
        />
      </details>
    </section>
  );
}
