// "Your feedback" on the page: FeedbackView (src/ui/FeedbackView.tsx) on the page's feedback store, disabled while
// the worker is busy (a run going, a configuration on its way, a lesson) or has nothing to sample from yet (no
// configuration), with a hint for what to do next: run the pipeline first, or — once the reward model was trained on
// your labels — run PPO again from the stage stepper, so the policy follows your preference.
import { useState } from 'react';
import { type LabStore, useFeedbackStore, useLabStore } from '../store';
import type { FeedbackStore } from '../store/feedback';
import { type RunStore, useRunStore } from '../store/run';
import { FeedbackPanel } from './FeedbackView';

const BUSY = ['running', 'paused', 'stopping'];

export interface HumanFeedbackPanelProps {
  lab?: LabStore;
  run?: RunStore;
  feedback?: FeedbackStore;
}

export function HumanFeedbackPanel({ lab = useLabStore, run = useRunStore, feedback = useFeedbackStore }: HumanFeedbackPanelProps) {
  const ready = lab((s) => s.engine.state === 'ready');
  const configured = lab((s) => s.configured !== undefined);
  const pending = lab((s) => s.pending !== undefined);
  const lessonGoing = lab((s) => s.lessonRun?.state === 'running');
  const state = run((s) => s.state);
  const rmDone = run((s) => s.stages.rm.state === 'done');
  const ppoState = run((s) => s.stages.ppo.state);
  // The reward model was last trained on your labels (from this view's button), for the hint.
  const [trained, setTrained] = useState(false);
  const going = BUSY.includes(state);
  const busy = !ready || !configured || pending || lessonGoing || going;

  const note = !configured
    ? 'Run the pipeline (or a stage) first: the completions to label are sampled from its latest policy.'
    : trained && rmDone && !going && ppoState !== 'running'
      ? 'The reward model now follows your labels. Run PPO again (the PPO button among the stages above) so the policy learns your preference.'
      : undefined;

  return <FeedbackPanel store={feedback} busy={busy} note={note} onTrain={() => setTrained(true)} />;
}
