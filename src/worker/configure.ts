// `configure`: a request checked as a whole — the settings (makePipelineConfig), the task (createTask, or importTask
// for the custom task's JSONL files), once the device is known the GPU memory its stages need (src/rlhf/memory.ts),
// every problem reported at once — and what of the session a new configuration
// keeps: the checkpoints the new settings would make the same (src/rlhf/config.ts stagesStillValid, so a KL sweep's
// runs, which differ only in ppo.*, share one SFT model and reward model) and the person's rankings while the task
// stays. The run state and the events around it are the command loop's (./engine).
import type { MemoryBudget } from '../gpu';
import { type GPTConfig, makeConfig, type PresetName } from '../model/config';
import { configProblems, makePipelineConfig, type PipelineConfig, PipelineConfigError, stagesStillValid, taskProblems } from '../rlhf/config';
import { memoryProblems } from '../rlhf/memory';
import { CHECKPOINT_NAMES, STAGE_REGISTRY, type StageId } from '../rlhf/stages';
import { createTask, importTask, type Task, TASK_IDS, type TaskId, TaskImportError } from '../rlhf/tasks';
import { ConfigureError } from './errors';
import { CHECKPOINT_STAGE, type ConfigProblem, type ConfigureRequest, type PipelineCheckpointName, type TaskInfo } from './protocol';
import { type Configured, REWARD_MODEL, type Session } from './session';

/**
 * The device a configuration will run on, once `init` has it: what it allows, the sequences it samples at once
 * (sampleBatchRows), and the base model's architecture — the bundled one's, or one the person chose (`chosenBase`).
 */
export interface DeviceFit {
  memory: MemoryBudget;
  sampleRows: number;
  base: GPTConfig;
  chosenBase?: boolean;
}

/**
 * The stages a configuration may run and the model they train (src/rlhf/pipeline.ts createPipeline's): a chosen base
 * model as it is, else the preset with the base model's vocabulary; its pretraining only when the bundled base model
 * is of another architecture, or when forced.
 */
function stagesOnDevice(config: PipelineConfig, { base, chosenBase }: DeviceFit): { model: GPTConfig; stages: StageId[] } {
  const model = chosenBase ? { ...base, dropout: 0 } : makeConfig(config.preset, { vocabSize: base.vocabSize, dropout: 0 });
  const bundled = (chosenBase || (['contextLength', 'nLayer', 'nHead', 'dModel'] as const).every((k) => base[k] === model[k])) && !config.pretrain.force;
  return { model, stages: STAGE_REGISTRY.filter((s) => !(bundled && s.produces === 'base model')).map((s) => s.id) };
}

/**
 * The configuration and task `request` asks for; a ConfigureError naming every problem when it is refused. With the
 * `device`, a configuration whose stages need more GPU memory than it allows is refused too (checked for every stage,
 * since the page may start any of them).
 */
export function acceptConfiguration(request: ConfigureRequest, device?: DeviceFit): Configured {
  const problems: ConfigProblem[] = [];
  const isTask = (TASK_IDS as readonly string[]).includes(request.task);
  if (!isTask) problems.push({ field: 'task', message: `must be one of ${TASK_IDS.join(', ')}, got "${request.task}"` });
  if (request.task !== 'custom' && request.custom !== undefined) problems.push({ field: 'custom', message: `files are only imported for the custom task, not "${request.task}"` });
  let config: PipelineConfig | undefined;
  try {
    config = makePipelineConfig(request.preset as PresetName, { ...request.overrides, task: request.task });
  } catch (e) {
    if (!(e instanceof PipelineConfigError)) throw e;
    problems.push(...e.problems);
  }
  // The custom files are checked even when the settings are wrong, so every problem is reported at once.
  let task: Task | undefined;
  if (isTask && (config || request.task === 'custom')) {
    const options = { seed: config?.seed ?? 0, maxResponseTokens: config?.ppo.maxResponseTokens };
    try {
      task = request.task === 'custom' ? importTask(request.custom ?? {}, options) : createTask(request.task as TaskId, options);
    } catch (e) {
      if (!(e instanceof TaskImportError)) throw e;
      for (const p of e.problems) problems.push(p.file === 'task' ? { field: 'custom', message: p.message } : { field: `custom.${p.file}`, line: p.line, message: p.message });
    }
  }
  // A reward source the task cannot provide (the verifier of a task without one, gold for a custom task).
  if (config && task) problems.push(...taskProblems(config, task));
  if (config && device) {
    const { model, stages } = stagesOnDevice(config, device);
    if (device.chosenBase) problems.push(...configProblems(config, model.contextLength));
    problems.push(...memoryProblems(config, model, stages, device.memory, device.sampleRows));
  }
  if (problems.length > 0 || !config || !task) throw new ConfigureError(problems);
  return { config, task };
}

/**
 * Makes `next` the session's configuration: the previous results go, but for the checkpoints it would make the same
 * and the human rankings of the same task. Returns the checkpoints kept, in run order.
 */
export function applyConfiguration(session: Session, next: Configured): PipelineCheckpointName[] {
  const previous = session.configured;
  // Human rankings are about this task's prompts: kept while the task stays, dropped with it.
  if (previous && (previous.task.id !== next.task.id || next.task.id === 'custom')) session.human = [];
  // Checkpoints the new settings would make the same stay; an imported task may differ under the same settings.
  const valid = previous && next.task.id !== 'custom' ? stagesStillValid(previous.config, next.config) : [];
  for (const name of [...session.checkpoints.keys()]) if (!valid.includes(CHECKPOINT_STAGE[name])) session.checkpoints.delete(name);
  if (!session.checkpoints.has(REWARD_MODEL.checkpoint)) session.rmRankings = undefined;
  session.configured = next;
  session.pipeline = undefined;
  session.metrics = [];
  session.samples = [];
  return CHECKPOINT_NAMES.filter((name) => session.checkpoints.has(name));
}

/** The configured task, for the page (the gold reward itself never leaves the worker). */
export function taskInfo(task: Task): TaskInfo {
  return {
    id: task.id,
    title: task.title,
    description: task.description,
    trainPrompts: task.prompts.train.length,
    heldoutPrompts: task.prompts.heldout.length,
    demonstrations: task.demonstrations.length,
    preferences: task.preferences?.length ?? 0,
    hasGold: task.gold !== undefined,
  };
}
