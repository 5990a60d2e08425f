import { readFileSync, statSync } from 'node:fs';
import { findHarness } from '../../harnesses';
import { InputFormatError, decode, stripHeader } from '../fuzz/codec';
import type { CrashSidecar } from '../fuzz/crash-store';
import type { Harness, HarnessConfig } from '../fuzz/harness';
import type { Scenario } from '../fuzz/scenario';
import { UsageError } from './fuzz-command';

/** A crash (or regression) file with its sidecar, read and checked. */
export interface LoadedCrash {
  readonly file: string;
  readonly payload: Uint8Array;
  readonly sidecar: CrashSidecar;
  readonly harness: Harness;
  readonly cfg: HarnessConfig;
  readonly scenario: Scenario;
}

/**
 * Reads `file` and `file.json`. Any problem — missing, a directory, empty,
 * not an mmufuzz input, another format version, a missing or corrupt
 * sidecar, an unknown harness or switch — is a UsageError with one line.
 */
export function loadCrash(file: string): LoadedCrash {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new UsageError(`${file}: no such file`);
  }
  if (st.isDirectory()) throw new UsageError(`${file}: is a directory, not a crash file`);
  let payload: Uint8Array;
  try {
    payload = stripHeader(readFileSync(file));
  } catch (e) {
    throw new UsageError(`${file}: ${e instanceof InputFormatError ? e.message : String(e)}`);
  }
  let sidecar: CrashSidecar;
  try {
    sidecar = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as CrashSidecar;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'not valid JSON';
    throw new UsageError(`${file}.json: sidecar ${why} (it names the harness and switches to replay with)`);
  }
  if (typeof sidecar !== 'object' || sidecar === null || sidecar.format !== 1 || typeof sidecar.harness !== 'string' || typeof sidecar.signature !== 'string'
    || typeof sidecar.switches !== 'object' || !Array.isArray(sidecar.switches?.off) || !Array.isArray(sidecar.switches?.variants)) {
    throw new UsageError(`${file}.json: not a mmufuzz crash sidecar (format 1 with harness, switches and signature)`);
  }
  const harness = findHarness(sidecar.harness);
  if (harness === undefined) throw new UsageError(`${file}.json: unknown harness '${sidecar.harness}'`);
  let cfg: HarnessConfig;
  try {
    cfg = harness.configure(sidecar.switches.off, sidecar.switches.variants);
  } catch (e) {
    throw new UsageError(`${file}.json: ${(e as Error).message}`);
  }
  return { file, payload, sidecar, harness, cfg, scenario: decode(harness, payload) };
}
