/**
 * Replays every entry of the regression suite (`mmufuzz regress` writes
 * them) under each switch setting it names and checks the expected outcome:
 * an expected crash must reproduce, an expected clean run must stay clean.
 */
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findHarness } from '../../harnesses';
import { decode, stripHeader } from '../../src/fuzz/codec';
import { scenarioSource } from '../../src/fuzz/scenario';
import { signatureOf } from '../../src/runtime';
import type { RegressionEntry } from '../../src/cli/regress-command';

const DIR = resolve(__dirname, '../../../test/regressions');
const entries = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

test('the regression suite is not empty', (t) => {
  t.true(entries.length > 0);
});

for (const name of entries) {
  const e = JSON.parse(readFileSync(join(DIR, name), 'utf8')) as RegressionEntry;
  for (const s of e.settings) {
    const label = `${s.off.length === 0 ? 'all on' : `off ${s.off.join(',')}`}${s.variants.length > 0 ? ` +${s.variants.join(',')}` : ''}`;
    test(`${name} [${label}] → ${s.expect}`, (t) => {
      const h = findHarness(e.harness);
      if (h === undefined) return t.fail(`unknown harness ${e.harness}`);
      const sc = decode(h, stripHeader(Buffer.from(e.input, 'base64')));
      const o = h.execute(sc, h.configure(s.off, s.variants), scenarioSource(sc), {});
      t.is(o.failure === null ? 'clean' : signatureOf(o.failure), s.expect);
    });
  }
}
