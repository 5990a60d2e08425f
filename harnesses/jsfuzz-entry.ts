/**
 * The `fuzz(buf)` entry point jsfuzz drives (`jsfuzz dist/harnesses/<name>.js
 * corpus/<name>`): decode the bytes (total), run them with the fuzz-bytes
 * schedule, throw on a crash. Interleaving and code features are published
 * as extra statement counters in istanbul's `global.__coverage__`, so jsfuzz
 * is guided by them too. Switches come from the environment:
 * MMUFUZZ_OFF=a,b and MMUFUZZ_VARIANT=x:y (comma-separated).
 */
import { decode, payloadOf } from '../src/fuzz/codec';
import type { Harness } from '../src/fuzz/harness';
import { scenarioSource } from '../src/fuzz/scenario';
import { FeatureMap, signatureOf } from '../src/runtime';

const PUBLISHED = 4096;

interface CoverageEntry {
  path: string;
  s: Record<number, number>;
  statementMap: Record<number, { start: { line: number; column: number }; end: { line: number; column: number } }>;
  fnMap: Record<string, never>;
  branchMap: Record<string, never>;
  f: Record<string, never>;
  b: Record<string, never>;
}

export function makeFuzz(h: Harness): (buf: Buffer | Uint8Array) => void {
  const list = (v: string | undefined): string[] => (v === undefined || v === '' ? [] : v.split(',').map((x) => x.trim()).filter((x) => x !== ''));
  const cfg = h.configure(list(process.env.MMUFUZZ_OFF), list(process.env.MMUFUZZ_VARIANT));
  const fm = new FeatureMap();
  const g = globalThis as { __coverage__?: Record<string, CoverageEntry> };
  const key = `mmufuzz-features:${h.name}`;
  const entry: CoverageEntry = { path: key, s: {}, statementMap: {}, fnMap: {}, branchMap: {}, f: {}, b: {} };
  for (let i = 0; i < PUBLISHED; i++) {
    entry.s[i] = 0;
    entry.statementMap[i] = { start: { line: i + 1, column: 0 }, end: { line: i + 1, column: 1 } };
  }
  return (buf) => {
    const s = decode(h, payloadOf(Uint8Array.from(buf)));
    fm.clear();
    const o = h.execute(s, cfg, scenarioSource(s), { features: fm });
    if (g.__coverage__ !== undefined) {
      g.__coverage__[key] = entry;
      for (const i of fm.touched()) entry.s[i % PUBLISHED]! += 1;
    }
    if (o.failure !== null) throw new Error(signatureOf(o.failure));
  };
}
