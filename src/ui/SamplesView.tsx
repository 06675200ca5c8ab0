// The latest RL rollouts (PPO's episodes; GRPO's and RLOO's completions, a group's one after another): prompt,
// response, training reward and gold reward, each response token coloured by its KL contribution, advantage or
// log-prob (one scale for all rollouts shown, so colours compare across them), with a legend; beside it, the SFT
// policy's answer to the same prompt when the evaluation samples have one. Below,
// the held-out evaluation samples side by side, one column per policy (SFT, PPO, DPO, …, best-of-N) answering the
// same prompt, once the later stages have run.
import { useId, useState } from 'react';
import type { SampleRecord } from '../rlhf/pipeline';
import type { Episode } from '../rlhf/episode';
import { isStageId, policyLabel, STAGE_IDS } from '../rlhf/stages';
import { type LabStore, useLabStore } from '../store';
import { type RunStore, useRunStore } from '../store/run';
import { formatValue } from './charts/format';
import './run.css';

export type TokenColouring = 'kl' | 'advantage' | 'logprob';

interface Colouring {
  label: string;
  values: (e: Episode) => readonly number[];
  /** Colours for negative and positive values (log-probs are ≤ 0: only `negative` is used). */
  negative: [number, number, number];
  positive: [number, number, number];
  legend: [string, string];
}

export const COLOURINGS: Readonly<Record<TokenColouring, Colouring>> = {
  kl: {
    label: 'KL contribution',
    values: (e) => e.kl,
    negative: [47, 111, 222],
    positive: [214, 69, 69],
    legend: ['less likely than under SFT', 'more likely than under SFT'],
  },
  advantage: {
    label: 'Advantage',
    values: (e) => e.advantages,
    negative: [214, 69, 69],
    positive: [46, 158, 91],
    legend: ['worse than expected (PPO: by its value head; GRPO, RLOO: by its group)', 'better than expected'],
  },
  logprob: {
    label: 'Log-prob',
    values: (e) => e.logprobs,
    negative: [138, 79, 209],
    positive: [138, 79, 209],
    legend: ['surprising to the policy', 'certain (log-prob 0)'],
  },
};

const MAX_ALPHA = 0.75;

/** The largest |value| over the episodes' tokens (the colour scale's end), at least a tiny positive number. */
export function colourScale(episodes: readonly Episode[], mode: TokenColouring): number {
  let s = 1e-12;
  for (const e of episodes) for (const v of COLOURINGS[mode].values(e)) if (Number.isFinite(v)) s = Math.max(s, Math.abs(v));
  return s;
}

/** A token's background: the sign picks the hue, |value| / scale the opacity (log-probs: how far below 0). */
export function tokenColour(value: number, scale: number, mode: TokenColouring): string {
  if (!Number.isFinite(value)) return 'rgba(0, 0, 0, 0.35)';
  const c = COLOURINGS[mode];
  const [r, g, b] = value < 0 ? c.negative : c.positive;
  const alpha = Math.round(Math.min(1, Math.abs(value) / scale) * MAX_ALPHA * 100) / 100;
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

const rgba = ([r, g, b]: [number, number, number], a: number) => `rgba(${r}, ${g}, ${b}, ${a})`;

function Legend({ mode, scale }: { mode: TokenColouring; scale: number }) {
  const c = COLOURINGS[mode];
  const [low, high] = mode === 'logprob' ? [-scale, 0] : [-scale, scale];
  const gradient =
    mode === 'logprob'
      ? `linear-gradient(to right, ${rgba(c.negative, MAX_ALPHA)}, ${rgba(c.negative, 0)})`
      : `linear-gradient(to right, ${rgba(c.negative, MAX_ALPHA)}, ${rgba(c.negative, 0)} 50%, ${rgba(c.positive, MAX_ALPHA)})`;
  return (
    <figure className="token-legend" aria-label={`${c.label} colour legend`}>
      <span className="num">{formatValue(low)}</span>
      <span className="token-legend-bar" style={{ background: gradient }} aria-hidden="true" />
      <span className="num">{formatValue(high)}</span>
      <figcaption>
        {c.label}: left, {c.legend[0]}; right, {c.legend[1]}.
      </figcaption>
    </figure>
  );
}

function Scores({ proxy, gold, finished, reward = 'Proxy (RM)' }: { proxy: number; gold: number | null | undefined; finished?: boolean; reward?: string }) {
  return (
    <p className="sample-scores">
      {reward} <span className="num">{formatValue(proxy)}</span>
      {gold !== undefined && gold !== null && (
        <>
          {' · '}Gold <span className="num">{formatValue(gold)}</span>
        </>
      )}
      {finished === false && ' · no EOS (penalised)'}
    </p>
  );
}

function EpisodeCard({ episode, index, stage, iteration, mode, scale, sft }: { episode: Episode; index: number; stage: string; iteration: number; mode: TokenColouring; scale: number; sft: SampleRecord | undefined }) {
  const values = COLOURINGS[mode].values(episode);
  return (
    <article className="episode" aria-label={`Rollout ${index + 1}`}>
      <p className="episode-prompt">
        <strong>Prompt</strong> {episode.prompt}
        {episode.group !== undefined && <span className="muted"> · group {episode.group + 1}: its completions are compared with each other</span>}
      </p>
      <div className="episode-answers">
        <div className="episode-answer">
          <h4>
            {stage}, iteration {iteration}
          </h4>
          <p className="tokens" data-testid="ppo-response">
            {episode.tokens.map((t, i) => (
              <span key={i} className="token" style={{ backgroundColor: tokenColour(values[i], scale, mode) }} title={`${COLOURINGS[mode].label} ${formatValue(values[i])}`}>
                {t}
              </span>
            ))}
          </p>
          <Scores proxy={episode.score} gold={episode.gold} finished={episode.finished} reward="Reward" />
        </div>
        {sft && (
          <div className="episode-answer episode-sft">
            <h4>SFT</h4>
            <p className="tokens">{sft.response}</p>
            <Scores proxy={sft.proxy} gold={sft.gold} />
          </div>
        )}
      </div>
    </article>
  );
}

/** The evaluation samples grouped by prompt: SFT, PPO and best-of-N answers side by side. */
function EvaluationSamples({ samples, limit, config }: { samples: readonly SampleRecord[]; limit: number; config: object | undefined }) {
  const policies = [...new Set(samples.map((s) => s.policy))].sort((a, b) => policyRank(a) - policyRank(b));
  const prompts = [...new Set(samples.map((s) => s.prompt))].slice(0, limit);
  const find = (prompt: string, policy: string) => samples.find((s) => s.prompt === prompt && s.policy === policy);
  // In a box of its own that scrolls sideways when its columns do not fit (a phone), not the page.
  return (
    <div className="table-scroll">
      <table className="eval-samples">
        <caption>Held-out evaluation samples</caption>
        <thead>
          <tr>
            <th scope="col">Prompt</th>
            {policies.map((p) => (
              <th scope="col" key={p}>
                {policyName(p, config)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {prompts.map((prompt) => (
            <tr key={prompt}>
              <th scope="row">{prompt}</th>
              {policies.map((p) => {
                const s = find(prompt, p);
                return <td key={p}>{s ? <><p className="tokens">{s.response}</p><Scores proxy={s.proxy} gold={s.gold} /></> : '–'}</td>;
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Columns in run order: SFT, each trained policy (PPO, DPO, …), then best-of-N ('bon-<N>'). */
const policyRank = (p: string) => (isStageId(p) ? STAGE_IDS.indexOf(p) : STAGE_IDS.length);
/** A policy's column header: its stage's name, marked as the upper bound when it trained on the gold oracle (policyLabel). */
const policyName = (p: string, config: object | undefined) => (isStageId(p) ? policyLabel(p, config) : p.startsWith('bon-') ? `Best-of-${p.slice(4)}` : p);

export interface SamplesViewProps {
  store?: RunStore;
  /** The accepted configuration (which policies trained on the gold oracle). */
  lab?: LabStore;
  /** How many rollouts (and evaluation prompts) to show. */
  limit?: number;
  initialColouring?: TokenColouring;
}

export function SamplesView({ store = useRunStore, lab = useLabStore, limit = 6, initialColouring = 'kl' }: SamplesViewProps) {
  const batch = store((s) => s.episodes);
  const config = lab((s) => s.configured?.config);
  const samples = store((s) => s.samples);
  const [mode, setMode] = useState<TokenColouring>(initialColouring);
  const name = useId();
  const episodes = batch?.episodes.slice(0, limit) ?? [];
  const scale = colourScale(episodes, mode);
  const sftFor = (prompt: string) => samples.find((s) => s.policy === 'sft' && s.prompt === prompt);

  return (
    <section className="samples" aria-label="Samples">
      <h2>Samples</h2>
      {episodes.length === 0 ? (
        <p className="muted">No RL rollouts yet.</p>
      ) : (
        <>
          <div className="samples-controls">
            <fieldset role="radiogroup" aria-label="Colour tokens by">
              <legend>Colour tokens by</legend>
              {(Object.keys(COLOURINGS) as TokenColouring[]).map((m) => (
                <label key={m}>
                  <input type="radio" name={name} value={m} checked={mode === m} onChange={() => setMode(m)} /> {COLOURINGS[m].label}
                </label>
              ))}
            </fieldset>
            <Legend mode={mode} scale={scale} />
          </div>
          {episodes.map((e, i) => (
            <EpisodeCard key={i} episode={e} index={i} stage={policyLabel(batch!.stage, config)} iteration={batch!.iteration} mode={mode} scale={scale} sft={sftFor(e.prompt)} />
          ))}
        </>
      )}
      {samples.length > 0 && <EvaluationSamples samples={samples} limit={limit} config={config} />}
    </section>
  );
}
