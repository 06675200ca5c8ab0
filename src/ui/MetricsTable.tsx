// "Latest metrics": the newest value of every metric the run has logged, grouped by the stage that logged it (in
// run order), metrics in the order of the shared table (src/rlhf/metrics.ts). Each name carries its one-line
// meaning as a hover title and as the row header's accessible description. Re-renders with the store's throttled
// commits (at most ~10 a second), not per record.
import { useId } from 'react';
import { METRICS, type MetricInfo } from '../rlhf/metrics';
import { latestNames, RUN_STAGES, type RunStore, STAGE_NAMES, useRunStore } from '../store/run';
import { formatValue } from './charts/format';
import './run.css';

const info = (name: string): MetricInfo | undefined => (METRICS as Record<string, MetricInfo | undefined>)[name];

export function MetricsTable({ store = useRunStore }: { store?: RunStore }) {
  const latest = store((s) => s.latest);
  const id = useId();
  const names = latestNames(latest);
  const groups = RUN_STAGES.map((stage) => ({ stage, names: names.filter((n) => latest[n]!.stage === stage) })).filter((g) => g.names.length);

  return (
    <table className="metrics-table">
      <caption>Latest metrics</caption>
      <thead>
        <tr>
          <th scope="col">Metric</th>
          <th scope="col">Value</th>
          <th scope="col">Stage</th>
          <th scope="col">Step</th>
        </tr>
      </thead>
      {groups.length === 0 && (
        <tbody>
          <tr>
            <td colSpan={4} className="muted">
              No metrics yet.
            </td>
          </tr>
        </tbody>
      )}
      {groups.map(({ stage, names }) => (
        <tbody key={stage} data-stage={stage}>
          <tr className="metrics-group">
            <th scope="rowgroup" colSpan={4}>
              {STAGE_NAMES[stage]}
            </th>
          </tr>
          {names.map((name) => {
            const v = latest[name]!;
            const meaning = info(name)?.meaning;
            const unit = info(name)?.unit;
            const descId = `${id}-${name}`;
            return (
              <tr key={name} data-metric={name}>
                <th scope="row" title={meaning} aria-describedby={meaning ? descId : undefined}>
                  <code>{name}</code>
                  {meaning && (
                    // hidden: kept out of the name (from content) but still read as the description
                    <span id={descId} hidden>
                      {meaning}
                    </span>
                  )}
                </th>
                <td className="num">
                  {formatValue(v.value)}
                  {unit && <span className="unit"> {unit}</span>}
                </td>
                <td>{STAGE_NAMES[v.stage]}</td>
                <td className="num">{v.step}</td>
              </tr>
            );
          })}
        </tbody>
      ))}
    </table>
  );
}
