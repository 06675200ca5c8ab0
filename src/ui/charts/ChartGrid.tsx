// The run's charts: one LineChart per question a user asks of a run (is SFT learning, is the reward model better
// than chance, is PPO's reward rising without running away from the SFT policy, is the update healthy), each declared
// by its stage (src/rlhf/stages), shown for the stages the run is to run; plus the reward-vs-√KL frontier. While a
// run goes, the running stage's charts come first ("Live"), so they sit right under the run bar. Colours: a fixed
// palette so a metric looks the same wherever it appears. During a sweep the charts draw its kept runs too
// (./runs.ts); a note above them names the runs and clears the kept ones.
import type uPlot from 'uplot';
import type { PipelineStage } from '../../rlhf/pipeline';
import { STAGE_REGISTRY, stageById, type StageDescriptor } from '../../rlhf/stages';
import { FRONTIER_STAGES, isGoing, type RunStore, type RunStoreState, STAGE_NAMES, useRunStore } from '../../store/run';
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

/** The charts' height: three rows of them fit under the run row in a 900 px high window. */
export const CHART_HEIGHT = 120;

/** The stage a run is in, while it is going. */
const liveStage = (s: RunStoreState) => (isGoing(s.state) ? s.stage : undefined);

export function ChartGrid({ store = useRunStore, smoothing = true, height = CHART_HEIGHT, onCreate }: ChartGridProps) {
  const plan = store((s) => s.plan);
  const live = store(liveStage);
  const line = (c: ChartSpec) => ({
    stages: [c.stage],
    node: <LineChart key={c.title} title={c.title} lines={c.lines} store={store} smoothing={smoothing} height={height} onCreate={onCreate && ((p) => onCreate(c.title, p))} />,
  });
  const frontier = {
    stages: FRONTIER_STAGES,
    node: <FrontierChart key="frontier" store={store} height={height} onCreate={onCreate && ((p) => onCreate('frontier', p))} />,
  };
  // The charts of the stages the run is to run; the frontier after the first trained policy's first chart.
  const charts = CHARTS.filter((c) => plan.includes(c.stage));
  const split = charts.findIndex(hasTrajectory) + 1 || charts.length;
  const ordered = [...charts.slice(0, split).map(line), frontier, ...charts.slice(split).map(line)];
  // The running stage's charts come first (the frontier with a stage that puts points on it), right under the run
  // row; the others follow. One list of keyed children, so a chart that moves keeps its uPlot instance.
  const first = live ? ordered.filter((item) => item.stages.includes(live)) : [];
  const rest = ordered.filter((item) => !first.includes(item));
  const heading = (key: string, text: string) => (
    <h3 key={key} className="run-charts-heading">
      {text}
    </h3>
  );
  const items =
    first.length === 0
      ? ordered.map((item) => item.node)
      : [heading('live', `Live: ${STAGE_NAMES[live!]}`), ...first.map((item) => item.node), ...(rest.length > 0 ? [heading('others', 'The other stages')] : []), ...rest.map((item) => item.node)];
  return (
    <>
      <KeptRunsNote store={store} />
      <section className="run-charts" aria-label="Training charts">
        {items}
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
