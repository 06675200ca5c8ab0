// The RLHF loop as a picture a teacher can point at: prompts → policy → responses → reward model → reward − β·KL →
// advantages → update (→ policy), with the frozen SFT reference in the middle, tied to the policy by the KL. The boxes
// the running stage uses are lit (or those of the stage that ran last; before a run the whole loop is drawn unlit),
// and the arrows carry live numbers: the proxy reward, the KL, β, the advantages' spread and the clip fraction.
// Everything stage-specific comes from the stage descriptors' `diagram` (src/rlhf/stages/diagram.ts): which boxes a
// stage lights and which of its metrics feeds each number. Clicking a box (or Enter/Space on it) opens the
// explanation of the stage it belongs to. Hand-drawn SVG with a viewBox: it scales to its container's width.
import { type KeyboardEvent, useId } from 'react';
import { isMetricName, METRICS } from '../rlhf/metrics';
import type { PipelineStage } from '../rlhf/pipeline';
import { STAGE_REGISTRY, stageById } from '../rlhf/stages';
import { DIAGRAM_BOXES, type DiagramBox, type DiagramNumber, type StageDiagram } from '../rlhf/stages/diagram';
import { type RunStore, STAGE_NAMES, type StageState, useRunStore } from '../store/run';
import './diagram.css';

// ---- which stage the picture shows, and which explanation each box opens (from the registry) ----

const diagramOf = (stage: PipelineStage): StageDiagram | undefined => stageById(stage).diagram;

/** The stage that uses every box (PPO): the picture before a run, and the home of the boxes no stage claims. */
const FULL_STAGE: PipelineStage = fullStage();

function fullStage(): PipelineStage {
  const full = STAGE_REGISTRY.find((s) => DIAGRAM_BOXES.every((b) => diagramOf(s.id)?.lit.includes(b)));
  if (!full) throw new Error(`pipeline diagram: no stage of the registry lights every box (${DIAGRAM_BOXES.join(', ')})`);
  return full.id;
}

/** Boxes whose explanation is always one stage's (the reward model's is the reward-model stage's). */
const OWNER: Partial<Record<DiagramBox, PipelineStage>> = Object.fromEntries(
  STAGE_REGISTRY.flatMap((s) => (diagramOf(s.id)?.explains ?? []).map((b) => [b, s.id] as const)),
);

/** The stage whose explanation a box opens: its owner, else the stage shown when that uses it, else the full loop's. */
export function boxStage(box: DiagramBox, shown: PipelineStage | undefined): PipelineStage | undefined {
  const owner = OWNER[box];
  if (owner) return owner;
  if (shown && diagramOf(shown)?.lit.includes(box)) return shown;
  return FULL_STAGE;
}

// ---- drawing ----

const W = 420;
const H = 236;
const BOX_W = 112;
const BOX_H = 44;
const COL = [8, 154, 300] as const;
const ROW = [8, 96, 184] as const;

interface BoxShape {
  readonly label: string;
  readonly sub: string;
  readonly x: number;
  readonly y: number;
  readonly w: number;
}

const BOXES: Record<DiagramBox, BoxShape> = {
  prompts: { label: 'prompts', sub: 'x', x: COL[0], y: ROW[0], w: BOX_W },
  policy: { label: 'policy', sub: 'π_θ(y | x)', x: COL[1], y: ROW[0], w: BOX_W },
  responses: { label: 'responses', sub: 'y ~ π_θ(· | x)', x: COL[2], y: ROW[0], w: BOX_W },
  'reward-model': { label: 'reward model', sub: 'r_φ(x, y)', x: COL[2], y: ROW[1], w: BOX_W },
  penalty: { label: 'reward − β·KL', sub: 'RM score at the end, KL per token', x: COL[1], y: ROW[2], w: COL[2] + BOX_W - COL[1] },
  advantages: { label: 'advantages', sub: 'GAE, whitened', x: COL[0], y: ROW[2], w: BOX_W },
  update: { label: 'update', sub: 'gradient step', x: COL[0], y: ROW[1], w: BOX_W },
  reference: { label: 'SFT reference', sub: 'π_SFT, frozen', x: COL[1], y: ROW[1], w: BOX_W },
};

const cx = (c: number) => COL[c] + BOX_W / 2;

interface Arrow {
  readonly from: DiagramBox;
  readonly to: DiagramBox;
  /** Start and end on the boxes' edges. */
  readonly path: readonly [x1: number, y1: number, x2: number, y2: number];
  /** Arrowheads at both ends (the KL compares the two policies). */
  readonly both?: boolean;
  /** The number it carries, drawn at the middle of the arrow. */
  readonly number?: DiagramNumber;
}

const yMid = (r: number) => ROW[r] + BOX_H / 2;
const ARROWS: readonly Arrow[] = [
  { from: 'prompts', to: 'policy', path: [COL[0] + BOX_W, yMid(0), COL[1], yMid(0)] },
  { from: 'policy', to: 'responses', path: [COL[1] + BOX_W, yMid(0), COL[2], yMid(0)] },
  { from: 'responses', to: 'reward-model', path: [cx(2), ROW[0] + BOX_H, cx(2), ROW[1]] },
  { from: 'reward-model', to: 'penalty', path: [cx(2), ROW[1] + BOX_H, cx(2), ROW[2]], number: 'reward' },
  { from: 'policy', to: 'reference', path: [cx(1), ROW[0] + BOX_H, cx(1), ROW[1]], both: true, number: 'kl' },
  { from: 'reference', to: 'penalty', path: [cx(1), ROW[1] + BOX_H, cx(1), ROW[2]], number: 'beta' },
  { from: 'penalty', to: 'advantages', path: [COL[1], yMid(2), COL[0] + BOX_W, yMid(2)] },
  { from: 'advantages', to: 'update', path: [cx(0), ROW[2], cx(0), ROW[1] + BOX_H], number: 'advantage' },
  { from: 'update', to: 'policy', path: [COL[0] + BOX_W - 24, ROW[1], COL[1] + 12, ROW[0] + BOX_H], number: 'clipfrac' },
];

/** What each number is: its label on the arrow and its words in the description. */
const NUMBERS: Record<DiagramNumber, { label: string; words: string }> = {
  reward: { label: 'score', words: 'proxy reward (reward-model score)' },
  kl: { label: 'KL', words: 'KL to the SFT reference' },
  beta: { label: 'β', words: 'KL coefficient β' },
  advantage: { label: 'adv. σ', words: 'advantage spread (before whitening)' },
  clipfrac: { label: 'clip', words: 'clip fraction' },
};

/** A number in at most 3 significant digits; tiny and huge magnitudes in e-notation. */
export function formatCompact(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

const STATE_WORDS: Record<StageState, string> = {
  pending: 'stopped',
  running: 'running',
  done: 'done',
  skipped: 'skipped',
  failed: 'failed',
  alarm: 'stopped by an alarm',
};

export interface PipelineDiagramProps {
  run?: RunStore;
  /** Opens the explanation of a stage (the box clicked belongs to it); without it the boxes are not buttons. */
  onOpenStage?: (stage: PipelineStage) => void;
}

export function PipelineDiagram({ run = useRunStore, onOpenStage }: PipelineDiagramProps) {
  const stage = run((s) => s.stage);
  const runState = run((s) => s.state);
  const stageState = run((s) => (s.stage ? s.stages[s.stage].state : undefined));
  const latest = run((s) => s.latest);
  const id = useId().replace(/[^\w-]/g, '');

  // The stage shown: the running one, or the one that ran last; before a run (or for a stage without a place on the
  // diagram) the full loop, unlit.
  const shown = stage && diagramOf(stage) ? stage : undefined;
  const diagram = diagramOf(shown ?? FULL_STAGE);
  const lit = new Set<DiagramBox>(shown ? (diagram?.lit ?? []) : []);
  const shownName = STAGE_NAMES[shown ?? FULL_STAGE];

  /** A number's value: the latest of its metric in the shown stage's own records. */
  const value = (n: DiagramNumber): number | undefined => {
    const metric = diagram?.numbers?.[n];
    const v = metric ? latest[metric] : undefined;
    return shown && v && v.stage === shown ? v.value : undefined;
  };
  const text = (n: DiagramNumber) => {
    const v = value(n);
    return v === undefined ? '—' : formatCompact(v);
  };

  const status = shown
    ? `${shownName}: ${runState === 'paused' && stageState === 'running' ? 'paused' : STATE_WORDS[stageState ?? 'running']}`
    : `Before a run: the ${shownName} loop`;
  const litWords = shown ? `Lit (solid outline): the boxes ${shownName} uses — ${[...lit].map((b) => BOXES[b].label).join(', ') || 'none'}.` : 'No stage has run yet: nothing is lit.';
  const numberWords = (Object.keys(NUMBERS) as DiagramNumber[]).map((n) => `${NUMBERS[n].words} ${text(n)}`).join('; ');

  const open = (box: DiagramBox) => {
    const target = boxStage(box, shown);
    if (target) onOpenStage?.(target);
  };
  const onKey = (box: DiagramBox) => (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      open(box);
    }
  };

  return (
    <figure className="pipeline-diagram" aria-labelledby={`${id}-caption`} aria-describedby={`${id}-desc`} data-stage={shown ?? ''}>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="group" aria-label="RLHF pipeline diagram" className="pipeline-diagram-svg">
        <defs>
          {(['lit', 'dim'] as const).map((k) => (
            <marker key={k} id={`${id}-head-${k}`} viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse" className={`diagram-head diagram-head-${k}`}>
              <path d="M0,0 L10,5 L0,10 z" />
            </marker>
          ))}
        </defs>

        {ARROWS.map((a) => {
          const on = lit.has(a.from) && lit.has(a.to);
          const head = `url(#${id}-head-${on ? 'lit' : 'dim'})`;
          const [x1, y1, x2, y2] = a.path;
          return (
            <line
              key={`${a.from}-${a.to}`}
              className={`diagram-arrow${on ? ' lit' : ''}`}
              data-arrow={`${a.from}-${a.to}`}
              x1={x1}
              y1={y1}
              x2={x2}
              y2={y2}
              markerEnd={head}
              markerStart={a.both ? head : undefined}
            />
          );
        })}

        {DIAGRAM_BOXES.map((box) => {
          const b = BOXES[box];
          const on = lit.has(box);
          const target = onOpenStage ? boxStage(box, shown) : undefined;
          const button = target !== undefined;
          return (
            <g
              key={box}
              className={`diagram-box${on ? ' lit' : ''}${button ? ' clickable' : ''}`}
              data-box={box}
              role={button ? 'button' : undefined}
              tabIndex={button ? 0 : undefined}
              aria-current={on ? 'true' : undefined}
              aria-label={`${b.label}${on ? `, used by ${shownName}` : ''}${button ? `: explain ${STAGE_NAMES[target]}` : ''}`}
              onClick={button ? () => open(box) : undefined}
              onKeyDown={button ? onKey(box) : undefined}
            >
              <rect x={b.x} y={b.y} width={b.w} height={BOX_H} rx={7} />
              <text className="diagram-box-label" x={b.x + b.w / 2} y={b.y + 19} textAnchor="middle" aria-hidden="true">
                {b.label}
              </text>
              <text className="diagram-box-sub" x={b.x + b.w / 2} y={b.y + 35} textAnchor="middle" aria-hidden="true">
                {b.sub}
              </text>
            </g>
          );
        })}

        {ARROWS.filter((a) => a.number).map((a) => {
          const n = a.number!;
          const metric = diagram?.numbers?.[n];
          const shownText = text(n);
          const [x1, y1, x2, y2] = a.path;
          const [mx, my] = [(x1 + x2) / 2, (y1 + y2) / 2];
          const chars = NUMBERS[n].label.length + 1 + shownText.length;
          const w = Math.round(chars * 6.6 + 14);
          const doc = metric && isMetricName(metric) ? `${metric}: ${METRICS[metric].meaning}` : `${NUMBERS[n].words}: not logged by ${shownName}`;
          return (
            <g key={n} className={`diagram-number${value(n) !== undefined ? ' live' : ''}${metric ? '' : ' unused'}`} data-number={n}>
              <title>{doc}</title>
              <rect x={mx - w / 2} y={my - 9} width={w} height={18} rx={9} />
              <text x={mx} y={my + 4} textAnchor="middle">
                <tspan className="diagram-number-label">{NUMBERS[n].label} </tspan>
                <tspan className="diagram-number-value" data-testid={`diagram-number-${n}`}>
                  {shownText}
                </tspan>
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption id={`${id}-caption`} className="pipeline-diagram-caption">
        <strong>{status}</strong>
        <span className="pipeline-diagram-legend"> — {shown ? 'solid boxes are the ones it uses' : 'nothing lit yet'}{onOpenStage ? '; click a box for its explanation' : ''}.</span>
      </figcaption>
      <p id={`${id}-desc`} className="pipeline-diagram-desc">
        {`Prompts, policy, responses, reward model, reward − β·KL, advantages and update form a loop; the SFT reference sits beside the policy, tied to it by the KL. ${litWords} Live numbers: ${numberWords}.`}
      </p>
    </figure>
  );
}
