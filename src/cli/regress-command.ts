/**
 * `mmufuzz regress <crash-file>... [--dir DIR]`: adds crashes to the
 * regression suite (`test/regressions/`), each as one JSON file holding the
 * input and its expected outcome under every switch setting it names: the
 * setting it was found with, and each of its switches turned back on (and
 * variants removed). `npm test` replays them all.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withHeader } from '../fuzz/codec';
import { sha1 } from '../fuzz/corpus-store';
import { scenarioSource } from '../fuzz/scenario';
import { writeFileAtomic } from '../fuzz/fs-atomic';
import { signatureOf, signatureSlug } from '../runtime';
import { loadCrash } from './crash-file';
import { UsageError, writableDir } from './fuzz-command';

export interface RegressionSetting {
  readonly off: readonly string[];
  readonly variants: readonly string[];
  /** The expected signature, or 'clean'. */
  readonly expect: string;
}

export interface RegressionEntry {
  readonly format: 1;
  readonly harness: string;
  readonly signature: string;
  /** The input file's bytes (with the MMF header), base64. */
  readonly input: string;
  readonly program: Record<string, string[]>;
  readonly settings: readonly RegressionSetting[];
}

export function runRegress(files: readonly string[], dir: string, out: (s: string) => void): number {
  if (files.length === 0) throw new UsageError('regress needs at least one crash file');
  const loaded = files.map((f) => loadCrash(f)); // all checked before anything is written
  writableDir(dir, 'regression directory');
  mkdirSync(dir, { recursive: true });
  for (const c of loaded) {
    const own = { off: [...c.sidecar.switches.off], variants: [...c.sidecar.switches.variants] };
    const candidates = [own, ...own.off.map((x) => ({ off: own.off.filter((y) => y !== x), variants: own.variants.filter((v) => !v.startsWith(`${x}:`)) })),
      ...own.variants.map((v) => ({ off: own.off, variants: own.variants.filter((w) => w !== v) }))];
    const settings: RegressionSetting[] = [];
    for (const s of candidates) {
      let cfg;
      try {
        cfg = c.harness.configure(s.off, s.variants);
      } catch {
        continue; // e.g. a variant that needs its switch off
      }
      const o = c.harness.execute(c.scenario, cfg, scenarioSource(c.scenario), {});
      settings.push({ off: s.off, variants: s.variants, expect: o.failure === null ? 'clean' : signatureOf(o.failure) });
    }
    if (settings[0]?.expect !== c.sidecar.signature) {
      out(`${c.file}: does not reproduce ${c.sidecar.signature} (got ${settings[0]?.expect ?? '?'}); not added`);
      return 1;
    }
    const bytes = readFileSync(c.file);
    const name = `${c.harness.name}--${signatureSlug(c.sidecar.signature)}--${sha1(bytes).slice(0, 8)}.json`;
    const path = join(dir, name);
    if (existsSync(path)) {
      out(`already in the suite: ${path}`);
      continue;
    }
    const entry: RegressionEntry = {
      format: 1, harness: c.harness.name, signature: c.sidecar.signature, input: Buffer.from(withHeader(c.payload)).toString('base64'),
      program: c.sidecar.program, settings,
    };
    writeFileAtomic(path, JSON.stringify(entry, null, 2) + '\n');
    out(`added ${path}: ${settings.map((s) => `[${s.off.length === 0 ? 'all on' : `off ${s.off.join(',')}`}${s.variants.length > 0 ? ` +${s.variants.join(',')}` : ''}] → ${s.expect}`).join('; ')}`);
  }
  return 0;
}
