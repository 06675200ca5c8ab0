// The lab's IndexedDB as earlier versions of src/store/persist.ts created it, for upgrade tests.
import type { IDBPDatabase } from 'idb';

/** The object stores of version 1 (config, metrics, samples, labels, checkpoints). */
export function createVersion1Stores(d: IDBPDatabase<unknown>): void {
  d.createObjectStore('config');
  d.createObjectStore('metrics', { autoIncrement: true }).createIndex('stage', 'stage');
  d.createObjectStore('samples', { autoIncrement: true }).createIndex('stage', 'stage');
  d.createObjectStore('labels', { autoIncrement: true });
  d.createObjectStore('checkpoints', { keyPath: 'name' });
}
