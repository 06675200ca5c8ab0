// The engine's own failures, and the protocol's 'error' event each failure becomes (its kind says the page what
// happened: protocol.ts ErrorEvent). The modules throw; only the command loop (./engine) turns a throw into an event.
import { DeviceLostError, NoAdapterError } from '../gpu';
import { moreProblems, shownProblems } from '../model/data';
import { PipelineAlarmError } from '../rlhf/pipeline';
import type { ConfigProblem, ErrorEvent } from './protocol';

/** The bundled base model could not be read or is broken, or a command needs it before `init` loaded it. */
export class ModelLoadError extends Error {}

/** A pipeline command that cannot be carried out now (start while running, export of what does not exist yet). */
export class PipelineCommandError extends Error {}

/** `recover` could not get a new device (reported as 'device-lost': the engine is still without one). */
export class RecoverError extends Error {}

/** `configure` was refused; `problems` name the fields (or the custom files' lines): the ones shown (the page gets
 * them), so that a file of 300,000 bad lines makes a short refusal, with one last problem saying how many more. */
export class ConfigureError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const { shown, hidden } = shownProblems(problems);
    const listed = hidden > 0 ? [...shown, { field: problems[shown.length].field, message: moreProblems(hidden) }] : shown;
    super(`the pipeline configuration was refused: ${listed.map((p) => `${p.field}${p.line ? ` line ${p.line}` : ''}: ${p.message}`).join('; ')}`);
    this.problems = listed;
  }
}

/** The error event for `e`; `fallback` is the kind of anything not recognised. */
export function errorEvent(e: unknown, fallback: 'internal' | 'pipeline'): ErrorEvent {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof ConfigureError) return { type: 'error', kind: 'config', message, problems: e.problems };
  if (e instanceof PipelineAlarmError) return { type: 'error', kind: 'alarm', message, metric: e.alarm.metric, stage: e.stage, step: e.step };
  const kind =
    e instanceof NoAdapterError
      ? 'no-adapter'
      : e instanceof DeviceLostError || e instanceof RecoverError
        ? 'device-lost'
        : e instanceof ModelLoadError
          ? 'model'
          : e instanceof PipelineCommandError
            ? 'pipeline'
            : fallback;
  return { type: 'error', kind, message };
}
