// Teaching views: a stage's explanation (what, why, what healthy looks like, its formulas and the metrics to
// watch), a formula with its symbols, and a metric's meaning and healthy range from the shared metric table
// (src/rlhf/metrics.ts METRICS). The text is in ./teaching.ts; its long paragraphs fold to a line (./Fold.tsx).
import { isMetricName, METRICS } from '../rlhf/metrics';
import type { PipelineStage } from '../rlhf/pipeline';
import { Fold } from './Fold';
import { type Formula, STAGE_TEACHING } from './teaching';
import './teaching.css';

export interface ExplainProps {
  stage: PipelineStage;
  /** Also show the stage's metrics with their meanings (default true). */
  showMetrics?: boolean;
}

/** Explains one pipeline stage. */
export function Explain({ stage, showMetrics = true }: ExplainProps) {
  const t = STAGE_TEACHING[stage];
  const id = `explain-${stage}`;
  return (
    <article className="explain" aria-labelledby={id} data-stage={stage}>
      <h3 id={id}>{t.title}</h3>
      <dl className="explain-points">
        <dt>What</dt>
        <dd>
          <Fold>{t.what}</Fold>
        </dd>
        <dt>Why</dt>
        <dd>
          <Fold>{t.why}</Fold>
        </dd>
        <dt>Healthy</dt>
        <dd>
          <Fold>{t.healthy}</Fold>
        </dd>
      </dl>
      {t.formulas.map((f) => (
        <FormulaView key={f.title} formula={f} />
      ))}
      {showMetrics && (
        <details className="explain-metrics">
          <summary>Metrics to watch</summary>
          {t.metrics.map((m) => (
            <MetricExplain key={m} metric={m} />
          ))}
        </details>
      )}
    </article>
  );
}

export interface FormulaViewProps {
  /** A stage's formula (./teaching.ts STAGE_TEACHING), or one of your own. */
  formula: Formula;
}

/** A formula as text with a legend of its symbols. */
export function FormulaView({ formula }: FormulaViewProps) {
  return (
    <figure className="formula" data-formula={formula.title}>
      <figcaption>{formula.title}</figcaption>
      <code className="formula-text">{formula.text}</code>
      <dl className="formula-symbols">
        {formula.symbols.map(([symbol, meaning]) => (
          <div key={symbol}>
            <dt>{symbol}</dt>
            <dd>{meaning}</dd>
          </div>
        ))}
      </dl>
      <p className="formula-source">{formula.source}</p>
    </figure>
  );
}

export interface MetricExplainProps {
  /** A metric name of src/rlhf/metrics.ts (e.g. 'objective/kl'); others show that nothing is known about them. */
  metric: string;
}

/** One metric: its label and name, what it means and what healthy looks like. */
export function MetricExplain({ metric }: MetricExplainProps) {
  if (!isMetricName(metric)) {
    return (
      <div className="metric-explain" data-metric={metric}>
        <strong>{metric}</strong> <span className="muted">— not a metric of the lab</span>
      </div>
    );
  }
  const info = METRICS[metric];
  return (
    <div className="metric-explain" data-metric={metric}>
      <strong>{info.label}</strong> <code>{metric}</code>
      {info.unit && <span className="unit"> ({info.unit})</span>}
      <p className="metric-meaning">{info.meaning}</p>
      {info.healthy && <p className="metric-healthy">Healthy: {info.healthy}</p>}
    </div>
  );
}
