// The engine's GPU device and its recovery. A lost device (driver reset, the tab in the background too long, memory
// ran out) is reported the moment it happens; commands that need the GPU are then refused with the loss until
// `recover` gets a new device from the host and the engine rebuilt what it had on it (the command loop's `rebuild`:
// the base model, and the pipeline with the kept checkpoints — CPU-side bytes — as its weights), so what a loss takes
// is only the progress of the stage that was running. `recovered` then names the checkpoints kept.
import { DeviceLostError, type GpuRuntime } from '../gpu';
import { RecoverError } from './errors';
import type { Command } from './protocol';
import type { EngineHost, Session } from './session';

/** Commands that run on the GPU: after a loss they are refused with it until `recover` has a new device. */
export const GPU_COMMANDS: ReadonlySet<Command['type']> = new Set(['init', 'generate', 'load-base', 'start', 'label-request', 'policy-onnx', 'policy-greedy']);

/** What the command loop does around a loss and a recovery. */
export interface DeviceHooks {
  /** The device was lost: report it, end a run going. */
  lost(error: DeviceLostError): void;
  /** Resolves when the work the loss broke has ended (a run, a label request): nothing is rebuilt before. */
  settled(): Promise<void>;
  /** Rebuilds the engine on the new device (throws when it cannot: the engine stays lost). */
  rebuild(rt: GpuRuntime): Promise<void>;
  /** The engine works on the new device. */
  recovered(): void;
}

export class Device {
  private runtime: Promise<GpuRuntime> | undefined;
  /** The runtime once the host gave it, until it is replaced. */
  private current: GpuRuntime | undefined;
  /** Set when the runtime's device was lost, until `recover` replaced it. */
  private lostWith: DeviceLostError | undefined;
  /** A `recover` replacing the device; a second one waits for it. */
  private recovering: Promise<void> | undefined;

  constructor(
    private readonly session: Session,
    private readonly host: Pick<EngineHost, 'runtime'>,
    private readonly hooks: DeviceHooks,
  ) {}

  /** The loss, while the engine has no working device. */
  get lost(): DeviceLostError | undefined {
    return this.lostWith;
  }

  /** The working runtime, when the host has given one (after `init` or a first GPU command) and it was not lost. */
  get ready(): GpuRuntime | undefined {
    return this.lostWith ? undefined : this.current;
  }

  /** The loss when `command` needs the GPU and there is none. */
  refusal(command: Command['type']): DeviceLostError | undefined {
    return GPU_COMMANDS.has(command) ? this.lostWith : undefined;
  }

  /** The runtime, asked of the host at first use. */
  gpu(): Promise<GpuRuntime> {
    if (!this.runtime) {
      this.runtime = this.host.runtime().then((rt) => {
        rt.device.lost.then((info) => this.onLost(new DeviceLostError(info.reason, info.message)));
        this.current = rt;
        return rt;
      });
      this.runtime.catch(() => (this.runtime = undefined)); // a later init may find an adapter
    }
    return this.runtime;
  }

  /** After a loss, a new device (see replace); the answer names the checkpoints the pipeline holds as weights. */
  async recover(): Promise<void> {
    if (this.lostWith) {
      this.recovering ??= this.replace().finally(() => (this.recovering = undefined));
      await this.recovering;
    }
    const rt = await this.gpu();
    this.session.post({ type: 'recovered', adapter: rt.adapter, checkpoints: [...this.session.checkpoints.keys()] });
  }

  /** Every loss is reported, 'destroyed' too: the engine never destroys its device, so that came from outside. */
  private onLost(error: DeviceLostError): void {
    this.lostWith = error;
    this.hooks.lost(error);
  }

  /**
   * A new device for the lost one, the engine rebuilt on it. The engine counts as lost until all of it worked, so a
   * failure leaves `recover` to be tried again.
   */
  private async replace(): Promise<void> {
    await this.hooks.settled();
    try {
      this.runtime = undefined;
      this.current = undefined;
      const rt = await this.gpu();
      await this.hooks.rebuild(rt);
      if (rt.isLost) throw new Error('the new device was lost as well');
    } catch (e) {
      throw new RecoverError(`recover: the engine could not be rebuilt on a new GPU device — ${(e as Error).message}`);
    }
    this.lostWith = undefined;
    this.hooks.recovered();
  }
}
