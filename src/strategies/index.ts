/** Decision sources: interchangeable strategies behind runtime/decision-source.ts. */
export { DfsSource } from './dfs';
export { FuzzBytesSource, decodePreemptions, encodePreemptions } from './fuzz-bytes';
export type { Preemption, RandomSwitches } from './fuzz-bytes';
export { PctSource } from './pct';
export { RandomWalkSource } from './random-walk';
export { ReplayDivergence, ReplaySource } from './replay';
export { SCHEDULE_TEXT_VERSION, formatSchedule, parseSchedule } from './schedule-text';
export { ScriptedSource } from './scripted';
export type { ScriptStep } from './scripted';
