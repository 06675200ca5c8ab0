// The run's charts: one LineChart per question a user asks of a run (is SFT learning, is the reward model better
// than chance, is PPO's reward rising without running away from the SFT policy, is the update healthy), plus the
// reward-vs-√KL frontier. Colours: a fixed palette so a metric looks the same wherever it appears. During a sweep
// the charts draw its kept runs too (./runs.ts); a note above them names the runs and clears the kept ones.
import type uPlot from 'uplot';
import { type RunStore, useRunStore } from '../../store/run';
import '../run.css';
import { FrontierChart } from './FrontierChart';
import { type ChartLine, LineChart } from './LineChart';
import { PALETTE } from './runs';

export interface ChartSpec {
  title: string;
  lines: readonly ChartLine[];
}

/** The line charts, in page order (the frontier chart follows the PPO reward chart). */
export const CHARTS: readonly ChartSpec[] = [
  { title: 'SFT loss', lines: [{ metric: 'loss', stage: 'sft', color: PALETTE.blue }] },
  {
    title: 'Reward model loss and accuracy',
    lines: [
      { metric: 'rm/loss', stage: 'rm', color: PALETTE.blue },
      { metric: 'rm/accuracy', stage: 'rm', color: PALETTE.green, axis: 'right' },
    ],
  },
  {
    title: 'PPO reward: proxy and gold',
    lines: [
      { metric: 'objective/scores', stage: 'ppo', label: 'Proxy (RM score)', color: PALETTE.blue },
      { metric: 'objective/gold', stage: 'ppo', label: 'Gold reward', color: PALETTE.orange },
    ],
  },
  {
    title: 'KL to the SFT policy',
    lines: [
      { metric: 'objective/kl', stage: 'ppo', color: PALETTE.purple },
      { metric: 'policy/sqrt_kl', stage: 'ppo', color: PALETTE.teal, axis: 'right' },
    ],
  },
  { title: 'Policy entropy', lines: [{ metric: 'objective/entropy', stage: 'ppo', color: PALETTE.green }] },
  {
    title: 'Clip fraction and approx. KL',
    lines: [
      { metric: 'policy/clipfrac', stage: 'ppo', color: PALETTE.red },
      { metric: 'policy/approxkl', stage: 'ppo', color: PALETTE.purple, axis: 'right' },
    ],
  },
  { title: 'Value loss', lines: [{ metric: 'loss/value', stage: 'ppo', color: PALETTE.orange }] },
  { title: 'Policy ratio', lines: [{ metric: 'val/ratio', stage: 'ppo', color: PALETTE.teal }] },
  { title: 'Response length', lines: [{ metric: 'val/response_length', stage: 'ppo', color: PALETTE.blue }] },
];

export interface ChartGridProps {
  store?: RunStore;
  /** Offer each line chart's smoothing slider (default on). */
  smoothing?: boolean;
  height?: number;
  /** Called with each chart's uPlot instance, by title. */
  onCreate?: (title: string, plot: uPlot) => void;
}

export function ChartGrid({ store = useRunStore, smoothing = true, height, onCreate }: ChartGridProps) {
  const line = (c: ChartSpec) => (
    <LineChart key={c.title} title={c.title} lines={c.lines} store={store} smoothing={smoothing} height={height} onCreate={onCreate && ((p) => onCreate(c.title, p))} />
  );
  const [before, after] = [CHARTS.slice(0, 3), CHARTS.slice(3)];
  return (
    <>
      <KeptRunsNote store={store} />
      <section className="run-charts" aria-label="Training charts">
        {before.map(line)}
        <FrontierChart store={store} height={height} onCreate={onCreate && ((p) => onCreate('frontier', p))} />
        {after.map(line)}
      </section>
    </>
  );
}

/** Which runs of a sweep the charts draw together, and the button that clears the earlier ones; nothing otherwise. */
function KeptRunsNote({ store }: { store: RunStore }) {
  const kept = store((s) => s.keptRuns);
  const current = store((s) => s.runLabel);
  if (kept.length === 0) return null;
  return (
    <div className="lesson-status" role="group" aria-label="Runs drawn together">
      <p>
        The charts draw the lesson’s runs together: {kept.map((k) => k.label).join(', ')}, and on top the current run, {current}.
      </p>
      <button type="button" onClick={() => store.getState().clearKeptRuns()}>
        Clear earlier runs
      </button>
    </div>
  );
}
