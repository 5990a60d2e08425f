import { HARNESSES } from '../../harnesses';
import { FAILURE_KINDS } from '../runtime';
import { SWITCHES, VARIANTS } from '../model/switches';

/** `mmufuzz list`: harnesses, switches, variants, oracle kinds. */
export function runList(out: (s: string) => void): number {
  out('harnesses:');
  for (const h of HARNESSES) {
    out(`  ${h.name.padEnd(14)} ${h.description}`);
    out(`  ${''.padEnd(14)} threads: ${h.slots.map((s) => `${s.name} (${s.ops.map((o) => o.name).join(', ')})`).join('; ')}`);
  }
  out('switches (default on; --off NAME for the code before the document\'s patch):');
  for (const s of SWITCHES) out(`  ${s.name.padEnd(22)} seed ${s.seed}: ${s.summary}`);
  out('variants (--variant SWITCH:VARIANT; never on by default):');
  for (const v of VARIANTS) out(`  ${v.name.padEnd(44)} (${v.side} side) ${v.summary}`);
  out(`oracles: ${FAILURE_KINDS.join(', ')} (signature: KIND site: detail)`);
  return 0;
}
