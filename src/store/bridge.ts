// Worker events → the page's stores, in one place. Pipeline events feed the run store (src/store/run.ts: its on*
// functions and setRunState); the accepted configuration, checkpoints, logs and pipeline errors go to the lab store's
// pipeline slice; the engine's own events (ready, model, sample, file, engine errors) to its engine slice. Plain
// functions of plain stores, so Node tests drive it with synthetic events.
import type { EngineEvent } from '../worker/protocol';
import { type LabStore, pipelineError } from './index';
import type { RunStore } from './run';

export interface BridgeTargets {
  lab: LabStore;
  run: RunStore;
  /** Events this bridge does not map (human feedback, persistence: label-items, labels-stats, restored,
   * checkpoint-data), for the views that own them. */
  others?: (event: EngineEvent) => void;
}

/** Routes one worker event to the stores. */
export function routeEvent(event: EngineEvent, { lab, run, others }: BridgeTargets): void {
  const r = run.getState();
  const l = lab.getState();
  switch (event.type) {
    case 'pipeline-config':
      // A new configuration: the worker dropped the earlier run's results, so the page does too.
      r.reset();
      l.onPipelineConfig(event.config, event.task);
      return;
    case 'pipeline-state': {
      // A failed run's cause came just before as an error event (an alarm or a stage's error).
      const error = event.state === 'failed' ? l.pipelineError?.message : undefined;
      r.setRunState(event.state, event.stage, error);
      return;
    }
    case 'stage':
      r.onStage(event.stage, event.state, event.seconds);
      return;
    case 'metrics':
      r.onMetrics(event.records);
      return;
    case 'progress':
      r.onProgress({ stage: event.stage, done: event.done, total: event.total, etaSeconds: event.etaSeconds });
      return;
    case 'episodes':
      r.onEpisodes(event.iteration, event.episodes);
      return;
    case 'samples':
      r.onSamples(event.samples);
      return;
    case 'summary':
      r.onSummary(event.summary);
      return;
    case 'checkpoint':
      l.onCheckpoint(event.name, event.size);
      return;
    case 'log':
      l.onLog(event.line);
      return;
    case 'error': {
      const pipeline = pipelineError(event);
      if (pipeline) l.onPipelineError(pipeline);
      else {
        l.applyEngineEvent(event);
        // A lost device or a crashed engine cannot go on: a run it had going is over (a model error leaves it be).
        const going = r.state === 'running' || r.state === 'paused' || r.state === 'stopping';
        if (going && (event.kind === 'device-lost' || event.kind === 'internal')) r.setRunState('failed', undefined, event.message);
      }
      return;
    }
    case 'ready':
    case 'model':
    case 'sample':
    case 'file':
      l.applyEngineEvent(event);
      return;
    default:
      others?.(event);
  }
}
