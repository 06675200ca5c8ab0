// "Policies against SFT": the evaluation's verdict on every policy of the run in one table — SFT, each trained
// policy (PPO, DPO, GRPO, RLOO, …: the registry's) and best-of-N at its largest N — with the gold reward's win rate
// against SFT and its 95% interval, the gold reward, the KL to SFT, the reward model's score and, where the task has a
// verifier, the exact-answer rate and pass@k. A column shows when some policy has it. Read from the latest metrics
// (the evaluation's and best-of-N's records), so it fills in as the stages finish; during a sweep or a lesson of
// several runs, the kept runs come first, a group of rows each, so their verdicts sit side by side.
import type { PipelineConfig } from '../rlhf/config';
import { policyLabel, TRAINED_POLICY_STAGES } from '../rlhf/stages';
import { type LabStore, useLabStore } from '../store';
import { type KeptRun, type RunStore, useRunStore } from '../store/run';
import './run.css';

/** One row: where each of its figures is logged (undefined: the policy has none). */
interface PolicyRow {
  name: string;
  metric: (figure: Figure) => string | undefined;
  /** Best-of-N's KL is its analytic bound, not a measurement. */
  klIsBound?: boolean;
}

type Figure = 'win_rate' | 'win_rate_lo' | 'win_rate_hi' | 'gold' | 'kl' | 'proxy' | 'verifier_rate' | 'pass_at_k' | 'pass_at_1';

const BON: Readonly<Partial<Record<Figure, string>>> = {
  win_rate: 'bon/win_rate',
  win_rate_lo: 'bon/win_rate_lo',
  win_rate_hi: 'bon/win_rate_hi',
  gold: 'bon/gold',
  kl: 'bon/kl_bound',
  proxy: 'bon/proxy',
  verifier_rate: 'bon/verifier_rate',
};

/** Win rates as whole percents (64 prompts resolve no finer); shares of answers to one decimal. */
const percent = (x: number) => `${(100 * x).toFixed(0)}%`;
const share = (x: number) => `${(100 * x).toFixed(1)}%`;
const fixed = (digits: number) => (x: number) => x.toFixed(digits);

interface Column {
  title: (config: PipelineConfig | undefined) => string;
  figure: Figure;
  format: (x: number) => string;
}

const COLUMNS: readonly Column[] = [
  { title: () => 'Win rate vs SFT [95%]', figure: 'win_rate', format: percent },
  { title: () => 'Gold reward', figure: 'gold', format: fixed(3) },
  { title: () => 'KL to SFT (nats)', figure: 'kl', format: fixed(2) },
  { title: () => 'RM score', figure: 'proxy', format: fixed(3) },
  { title: () => 'Exact answers', figure: 'verifier_rate', format: share },
  { title: (c) => `pass@${c?.eval.passK || 'k'}`, figure: 'pass_at_k', format: share },
  { title: () => 'pass@1', figure: 'pass_at_1', format: share },
];

export interface PolicyTableProps {
  run?: RunStore;
  lab?: LabStore;
}

/** A metric's last value and step in a run (undefined: not logged). */
type Lookup = (name: string) => { value: number; step: number } | undefined;

/** The last value of a kept run's metric: the evaluation's and best-of-N's are logged by their own stages. */
function keptLookup(run: KeptRun): Lookup {
  return (name) => {
    const { x, y } = run.series.get(name, name.startsWith('bon/') ? 'bon' : 'eval');
    return y.length > 0 ? { value: y[y.length - 1], step: x[x.length - 1] } : undefined;
  };
}

export function PolicyTable({ run = useRunStore, lab = useLabStore }: PolicyTableProps) {
  const latest = run((s) => s.latest);
  const kept = run((s) => s.keptRuns);
  const runLabel = run((s) => s.runLabel);
  const config = lab((s) => s.configured?.config);
  /** `runConfig`: the run's configuration where it is known, for the gold-oracle mark. */
  const rowsOf = (lookup: Lookup, runConfig: object | undefined) => {
    const bonN = lookup('bon/gold')?.step;
    const rows: PolicyRow[] = [
      { name: 'SFT', metric: (f) => (f === 'kl' ? undefined : `eval/${f}_sft`) },
      ...TRAINED_POLICY_STAGES.map((s): PolicyRow => ({ name: policyLabel(s.id, runConfig), metric: (f) => `eval/${f}_${s.id}` })),
      { name: `Best-of-${bonN ?? 'N'}`, metric: (f) => BON[f], klIsBound: true },
    ];
    const value = (row: PolicyRow, figure: Figure) => {
      const name = row.metric(figure);
      return name === undefined ? undefined : lookup(name);
    };
    return { value, rows: rows.filter((r) => (['gold', 'win_rate', 'verifier_rate'] as const).some((f) => value(r, f) !== undefined)) };
  };
  const groups = [
    ...kept.map((k) => ({ label: k.label, ...rowsOf(keptLookup(k), k.config) })),
    { label: runLabel, ...rowsOf((name) => latest[name], config) },
  ].filter((g) => g.rows.length > 0);
  if (groups.length === 0) return null;
  const columns = COLUMNS.filter((c) => groups.some((g) => g.rows.some((r) => g.value(r, c.figure) !== undefined)));
  const cell = (value: ReturnType<typeof rowsOf>['value'], row: PolicyRow, c: Column) => {
    const v = value(row, c.figure);
    if (row.name === 'SFT' && c.figure === 'win_rate') return 'baseline';
    if (row.name === 'SFT' && c.figure === 'kl') return '0';
    if (!v) return '—';
    if (c.figure === 'win_rate') {
      const [lo, hi] = [value(row, 'win_rate_lo'), value(row, 'win_rate_hi')];
      return lo && hi ? `${percent(v.value)} [${percent(lo.value)}, ${percent(hi.value)}]` : percent(v.value);
    }
    return `${row.klIsBound && c.figure === 'kl' ? '≤ ' : ''}${c.format(v.value)}`;
  };
  return (
    <table className="metrics-table policy-table">
      <caption>Policies against SFT</caption>
      <thead>
        <tr>
          <th scope="col">Policy</th>
          {columns.map((c) => (
            <th key={c.figure} scope="col" className="num">
              {c.title(config)}
            </th>
          ))}
        </tr>
      </thead>
      {groups.map((g, i) => (
        <tbody key={i}>
          {groups.length > 1 && (
            <tr>
              <th scope="rowgroup" colSpan={columns.length + 1}>
                {g.label ?? 'This run'}
              </th>
            </tr>
          )}
          {g.rows.map((r) => (
            <tr key={r.name}>
              <th scope="row">{r.name}</th>
              {columns.map((c) => (
                <td key={c.figure} className="num">
                  {cell(g.value, r, c)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      ))}
      <tfoot>
        <tr>
          <td colSpan={columns.length + 1} className="muted">
            The same held-out prompts for every policy, judged by the hidden gold reward; KL per response (best-of-N: its bound, log N − (N − 1)/N). Compare methods at similar KL: the frontier chart plots gold against √KL.
          </td>
        </tr>
      </tfoot>
    </table>
  );
}
