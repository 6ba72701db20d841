// aedes-persistence-level ships no types; the async class is all the embedded broker uses.
declare module 'aedes-persistence-level/asyncPersistence.js' {
  import type { Level } from 'level';
  export default class AsyncLevelPersistence {
    constructor(db: Level<string, Buffer>);
    setup(broker: unknown): Promise<void>;
    destroy(): Promise<void>;
  }
}
