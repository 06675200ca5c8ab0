// The saved data's connection in real IndexedDB (headless Chromium), when other tabs or the browser get in its way:
//  - blocked: a tab of an older version keeps its connection open (and ignores versionchange, as version 3 did): the
//    page's startup says so instead of hanging silently at "Opening the saved data…", and opens once that tab closes;
//  - blocking: another tab opens a newer version: this tab closes its connection at once (so the other's upgrade goes
//    on) and asks for a reload;
//  - terminated: the browser closes the connection (DevTools' "Delete database", through the DevTools protocol, as
//    clearing site data does): the page asks for a reload.
import { deleteDB, openDB } from 'idb';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { cdp } from 'vitest/browser';
import { createLabStore } from '../../src/store';
import { createLabSession } from '../../src/store/bridge';
import { openLabStorage } from '../../src/store/persist';
import { createRunStore } from '../../src/store/run';
import { createVersion1Stores } from '../helpers/old-databases';

const NAME = 'rlhf-lab-test-connection';

afterEach(() => deleteDB(NAME));

/** A page session on the test database, with a worker nobody listens to. */
function session() {
  const lab = createLabStore({ download: () => {} });
  const run = createRunStore({ schedule: () => () => {} });
  const s = createLabSession({ lab, run, worker: () => {}, openStorage: (events) => openLabStorage(NAME, events) });
  lab.setState({ send: s.send });
  return { lab, session: s };
}

describe('the saved data and other tabs', () => {
  test('an older tab blocking the upgrade is named at startup; the saved data opens once it closes', async () => {
    await deleteDB(NAME);
    const old = await openDB(NAME, 3, {
      upgrade(d) {
        createVersion1Stores(d);
        d.createObjectStore('sweep');
      },
    });
    const p = session();
    const started = p.session.start();
    await vi.waitFor(() => expect(p.lab.getState().saved.note).toMatch(/open in another tab of an older version.*close or reload that tab/));
    expect(p.lab.getState().saved.storage).toBe('loading');
    old.close();
    await started;
    expect(p.lab.getState().saved).toMatchObject({ storage: 'indexeddb', note: undefined });
    p.session.dispose();
  });

  test('a newer version opening in another tab: this tab lets go at once and asks for a reload', async () => {
    await deleteDB(NAME);
    const p = session();
    await p.session.start();
    // Not blocked: the page's connection closes as soon as the newer version asks.
    const newer = await openDB(NAME, 5);
    expect(newer.version).toBe(5);
    newer.close();
    expect(p.lab.getState().saved).toMatchObject({ reloadNeeded: true, note: expect.stringMatching(/newer version of RLHF Lab.*Reload it to go on/) });
    p.session.dispose();
  });

  test('the browser closing the connection (the database deleted from DevTools) asks for a reload', async () => {
    await deleteDB(NAME);
    const p = session();
    await p.session.start();
    await cdp().send('IndexedDB.deleteDatabase', { securityOrigin: location.origin, databaseName: NAME });
    await vi.waitFor(() => expect(p.lab.getState().saved).toMatchObject({ reloadNeeded: true, note: expect.stringMatching(/browser closed the saved data.*Reload it to go on/) }));
    p.session.dispose();
  });
});
