import type { DecisionLog } from '../runtime/decision-source';

/** Format version of printed decision logs. */
export const SCHEDULE_TEXT_VERSION = 1;

/**
 * A decision log as one printable, versioned line, e.g.
 * `mmufuzz-schedule v1 s=0.1.1.0 c=2`: thread picks after `s=`, model choices
 * after `c=`, both dot-separated. Shuttle prints such a line under every
 * failure, with the command that replays it.
 */
export function formatSchedule(log: DecisionLog): string {
  return `mmufuzz-schedule v${SCHEDULE_TEXT_VERSION} s=${log.schedule.join('.')} c=${log.choices.join('.')}`;
}

/** Parses formatSchedule's output; throws a one-line Error on anything else. */
export function parseSchedule(text: string): DecisionLog {
  const m = /^mmufuzz-schedule v(\d+) s=([0-9.]*) c=([0-9.]*)$/.exec(text.trim());
  if (m === null) throw new Error('not a mmufuzz schedule line (expected "mmufuzz-schedule v1 s=... c=...")');
  if (Number(m[1]) !== SCHEDULE_TEXT_VERSION) {
    throw new Error(`schedule format v${m[1]} is not supported (this mmufuzz reads v${SCHEDULE_TEXT_VERSION})`);
  }
  const nums = (s: string): number[] => (s === '' ? [] : s.split('.').map((x) => {
    if (x === '' || !/^\d+$/.test(x)) throw new Error(`bad number '${x}' in schedule line`);
    return Number(x);
  }));
  return { schedule: nums(m[2]!), choices: nums(m[3]!) };
}
