// One lab per browser profile. The saved session is one record set in IndexedDB: two tabs each training and saving
// would write over each other's (one tab's configuration beside the other's checkpoints). So one tab at a time has
// the lab, and it holds a Web Lock (navigator.locks, LAB_LOCK) for as long as it does: only it starts the engine and
// opens the saved session (src/ui/TabGate.tsx renders the lab only then).
//
// A tab that finds the lock held says so and offers "Use it here" (takeOver): it queues for the lock and asks the
// owner, over a BroadcastChannel, to let go. The owner runs its handover (the page's session stops a run at its next
// unit as Stop does, waits for the saves and closes the database: bridge.ts handOver), then releases the lock; the
// asking tab gets it and starts the lab, which restores the saved session. A tab that handed the lab over reloads
// when it takes it back (its stores still hold the old run). Where Web Locks are missing (an insecure context, an
// old browser) every tab has the lab, as before.
import { create } from 'zustand';

/** The lock's name, and the channel's. */
export const LAB_LOCK = 'rlhf-lab';

/**
 * claiming: asking whether the lab is free; owner: this tab has it; handing-over: another tab asked for it and this
 * one is stopping and saving; elsewhere: another tab has it; taking-over: asked for it, waiting for the owner to let go.
 */
export type TabRole = 'claiming' | 'owner' | 'handing-over' | 'elsewhere' | 'taking-over';

export interface LabTabState {
  role: TabRole;
  /** This tab had the lab and handed it to another. */
  handedOver: boolean;
  /** Asks the tab that has the lab to let go, and takes it once it has (from 'elsewhere'). */
  takeOver(): void;
  /** What the owner does before it lets go (the page's session registers its handover; undefined: nothing). */
  setHandover(handover: (() => Promise<void>) | undefined): void;
  /** Lets go of everything (the lock, the channel); for tests. */
  dispose(): void;
}

/** take-over: a tab asks for the lab (`at`: when, Date.now()); owner: a tab got it. (A channel never hears itself.) */
type TabMessage = { type: 'take-over'; at: number } | { type: 'owner' };

export interface LabTabOptions {
  /** The Web Locks API (default navigator.locks); without it this tab has the lab. */
  locks?: LockManager;
  /** The lock's and the channel's name (tests use their own). */
  name?: string;
  /** Starts the page afresh (default location.reload). */
  reload?: () => void;
}

export function createLabTab({ locks = globalThis.navigator?.locks, name = LAB_LOCK, reload = () => location.reload() }: LabTabOptions = {}) {
  const channel = locks ? new BroadcastChannel(name) : undefined;
  let handover: (() => Promise<void>) | undefined;
  // Resolving it releases the lock (the lock's callback waits for it).
  let release: (() => void) | undefined;
  // Aborts this tab's queued request for the lock when another tab gets it.
  let queued: AbortController | undefined;
  // When this tab got the lock: a request sent before was meant for the tab before it (two tabs asked at once).
  let ownedSince = 0;

  const store = create<LabTabState>()((set, get) => ({
    role: locks ? 'claiming' : 'owner',
    handedOver: false,
    takeOver() {
      if (!locks || get().role !== 'elsewhere') return;
      set({ role: 'taking-over' });
      queued = new AbortController();
      locks.request(name, { signal: queued.signal }, hold).catch(() => {}); // aborted: another tab got it first
      post({ type: 'take-over', at: Date.now() });
    },
    setHandover: (h) => void (handover = h),
    dispose() {
      channel?.close();
      queued?.abort();
      release?.();
    },
  }));

  const post = (message: TabMessage) => channel?.postMessage(message);

  /** The lock is this tab's: it keeps it until the handover releases it. */
  const hold = () =>
    new Promise<void>((resolve) => {
      release = resolve;
      queued = undefined;
      ownedSince = Date.now();
      post({ type: 'owner' });
      if (store.getState().handedOver) reload();
      else store.setState({ role: 'owner' });
    });

  if (channel) {
    channel.onmessage = async ({ data }: MessageEvent<TabMessage>) => {
      const { role } = store.getState();
      if (data.type === 'take-over' && role === 'owner' && data.at > ownedSince) {
        store.setState({ role: 'handing-over' });
        try {
          await handover?.();
        } catch (e) {
          console.error('handing the lab over:', e); // the lock is let go even so: the other tab asked for it
        }
        store.setState({ role: 'elsewhere', handedOver: true });
        release?.();
        release = undefined;
      } else if (data.type === 'owner' && role === 'taking-over') {
        queued?.abort();
        store.setState({ role: 'elsewhere' });
      }
    };
  }
  locks?.request(name, { ifAvailable: true }, (lock) => (lock ? hold() : store.setState({ role: 'elsewhere' })));
  return store;
}

export type LabTab = ReturnType<typeof createLabTab>;
