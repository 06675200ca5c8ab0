// The run's charts: one LineChart per question a user asks of a run (is SFT learning, is the reward model better
// than chance, is PPO's reward rising without running away from the SFT policy, is the update healthy), each declared
// by its stage (src/rlhf/stages), shown for the stages the run is to run; plus the reward-vs-√KL frontier. Colours: a fixed palette so a metric looks the same wherever it appears. During a sweep
// the charts draw its kept runs too (./runs.ts); a note above them names the runs and clears the kept ones.
import type uPlot from 'uplot';
import type { PipelineStage } from '../../rlhf/pipeline';
import { STAGE_REGISTRY, stageById, type StageDescriptor } from '../../rlhf/stages';
import { type RunStore, useRunStore } from '../../store/run';
import '../run.css';
import { FrontierChart } from './FrontierChart';
import { type ChartLine, LineChart } from './LineChart';

export interface ChartSpec {
  /** The stage whose metrics it draws. */
  stage: PipelineStage;
  title: string;
  lines: readonly ChartLine[];
}

/** Every stage's charts (its descriptor's `charts`), in run order. */
export const CHARTS: readonly ChartSpec[] = (STAGE_REGISTRY as readonly StageDescriptor[]).flatMap((s) =>
  (s.charts ?? []).map((c) => ({ stage: s.id as PipelineStage, title: c.title, lines: c.lines.map((l) => ({ ...l, stage: s.id as PipelineStage })) })),
);

/** Whether a chart's stage trains a policy with a frontier trajectory (the frontier chart follows the first such chart). */
const hasTrajectory = (c: ChartSpec) => stageById(c.stage).policy?.trajectory !== undefined;

export interface ChartGridProps {
  store?: RunStore;
  /** Offer each line chart's smoothing slider (default on). */
  smoothing?: boolean;
  height?: number;
  /** Called with each chart's uPlot instance, by title. */
  onCreate?: (title: string, plot: uPlot) => void;
}

export function ChartGrid({ store = useRunStore, smoothing = true, height, onCreate }: ChartGridProps) {
  const plan = store((s) => s.plan);
  const line = (c: ChartSpec) => (
    <LineChart key={c.title} title={c.title} lines={c.lines} store={store} smoothing={smoothing} height={height} onCreate={onCreate && ((p) => onCreate(c.title, p))} />
  );
  // The charts of the stages the run is to run; the frontier after the first trained policy's first chart.
  const charts = CHARTS.filter((c) => plan.includes(c.stage));
  const split = charts.findIndex(hasTrajectory) + 1 || charts.length;
  const [before, after] = [charts.slice(0, split), charts.slice(split)];
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
