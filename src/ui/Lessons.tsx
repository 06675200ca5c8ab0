// The built-in lessons (./lessons.ts) as a list: title, summary, what the lesson shows and what to look for, the
// runs it makes, and a "Start lesson" button each. Starting is the caller's (onStart: configure and start every
// run of lessonSteps(lesson)); `activeId` marks the lesson going on (or the one named by ?lesson=<id>).
import { STAGE_NAMES } from '../store/run';
import { type Lesson, LESSONS } from './lessons';
import './teaching.css';

export interface LessonsProps {
  onStart(lesson: Lesson): void;
  /** Default: the built-in LESSONS. */
  lessons?: readonly Lesson[];
  /** The lesson going on or chosen by the URL: marked, and its details open. */
  activeId?: string;
  /** Disables every Start button (e.g. while a run is going, or without a GPU). */
  disabled?: boolean;
}

export function Lessons({ onStart, lessons = LESSONS, activeId, disabled = false }: LessonsProps) {
  return (
    <ul className="lessons" aria-label="Lessons">
      {lessons.map((lesson) => {
        const active = lesson.id === activeId;
        const heading = `lesson-${lesson.id}`;
        return (
          <li key={lesson.id} className="lesson" data-lesson={lesson.id} aria-current={active ? 'true' : undefined} aria-labelledby={heading}>
            <h3 id={heading}>{lesson.title}</h3>
            <p>{lesson.summary}</p>
            <details open={active}>
              <summary>What it shows</summary>
              {lesson.text.map((p, i) => (
                <p key={i}>{p}</p>
              ))}
              <p>
                <strong>Look for</strong>
              </p>
              <ul>
                {lesson.lookFor.map((p, i) => (
                  <li key={i}>{p}</li>
                ))}
              </ul>
            </details>
            <p className="lesson-runs">
              {lesson.runs ? `${lesson.runs.length} runs: ${lesson.runs.map((r) => r.label).join(', ')}` : '1 run'} · {lesson.task}, {lesson.preset} preset ·{' '}
              {lesson.stages.map((s) => STAGE_NAMES[s]).join(' → ')}
            </p>
            <button type="button" onClick={() => onStart(lesson)} disabled={disabled} aria-describedby={heading}>
              Start lesson
            </button>
          </li>
        );
      })}
    </ul>
  );
}
