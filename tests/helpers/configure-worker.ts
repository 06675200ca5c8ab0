// A lab store (labStores) whose fake worker answers `configure` as the engine does (acceptConfiguration: the real
// validation of settings and imported files), so an import goes from the picked file to what the page shows.
import { acceptConfiguration, taskInfo } from '../../src/worker/configure';
import { errorEvent } from '../../src/worker/errors';
import type { EngineEvent } from '../../src/worker/protocol';
import { labStores, softwareAdapter } from './lab-stores';

export function labWithConfigureWorker(options: Parameters<typeof labStores>[0] = {}) {
  const stores = labStores(options);
  /** The worker's answers to `configure`, in order. */
  const answers: EngineEvent[] = [];
  stores.lab.setState({
    send: (command) => {
      stores.sent.push(command);
      if (command.type !== 'configure') return;
      let answer: EngineEvent;
      try {
        const { config, task } = acceptConfiguration(command);
        answer = { type: 'pipeline-config', config, task: taskInfo(task), kept: [] };
      } catch (e) {
        answer = errorEvent(e, 'pipeline');
      }
      answers.push(answer);
      stores.emit(answer);
    },
  });
  stores.emit({ type: 'ready', adapter: softwareAdapter() });
  return { ...stores, answers };
}
