// The lab, or why it is not in this tab (src/store/tab-lock.ts): while another tab has it, "RLHF Lab is open in another
// tab" and "Use it here"; while this tab hands it over, the lab stays in view but takes no input; while the lock is
// asked for, nothing. The lab inside (src/ui/App.tsx) registers its handover through LabTabContext.
import { createContext, type ReactNode } from 'react';
import type { LabTab } from '../store/tab-lock';

/** The tab's lock, for the lab to register what it does before it lets go (undefined outside a gate). */
export const LabTabContext = createContext<LabTab | undefined>(undefined);

export function TabGate({ tab, children }: { tab: LabTab; children: ReactNode }) {
  const role = tab((s) => s.role);
  const handedOver = tab((s) => s.handedOver);
  if (role === 'claiming') return null;
  if (role === 'owner' || role === 'handing-over') {
    return (
      <LabTabContext.Provider value={tab}>
        {role === 'handing-over' && (
          <p role="status" className="tab-notice" data-testid="handing-over">
            Another tab asked for RLHF Lab: stopping at the next step and saving, then it moves there.
          </p>
        )}
        <div inert={role === 'handing-over'}>{children}</div>
      </LabTabContext.Provider>
    );
  }
  return (
    <main>
      <section className="tab-elsewhere" aria-label="Open in another tab">
        <h1>{handedOver ? 'RLHF Lab moved to another tab' : 'RLHF Lab is open in another tab'}</h1>
        <p>
          One tab at a time has the lab, so that two tabs never write over one saved session. Use it here to stop it in the other tab
          (a run stops at its next step, and what it made is saved) and continue here from the saved session.
        </p>
        {role === 'taking-over' ? (
          <p role="status">Waiting for the other tab to stop and save…</p>
        ) : (
          <button type="button" onClick={() => tab.getState().takeOver()}>
            Use it here
          </button>
        )}
      </section>
    </main>
  );
}
