#!/usr/bin/env node
'use strict';
/**
 * Differential check between two builds, for changes meant to be
 * behaviour-preserving (speed work): the same inputs run under both and must
 * give the same executions.
 *
 *   node scripts/differential.js OLD_DIST [NEW_DIST] [--inputs N]
 *
 * OLD_DIST and NEW_DIST are `dist` directories (NEW_DIST defaults to this
 * checkout's). Make OLD_DIST by building the base commit elsewhere, e.g.
 * `git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run
 * build)`. For every harness, every switch configuration (all on, each switch
 * off, each variant), the old build's engine generates N inputs (seed 11);
 * each is run by both builds under the bytes, random-walk and PCT sources in
 * turn, with features and the conflict log, every 50th traced. Compared:
 * steps and start step (when both builds report it), failure (signature, step, message), warnings,
 * decisions and their steps, the picks' predecessors, conflicts, threads,
 * the trace, and the feature map (slots and counts in first-hit order).
 * Prints the first differences and a count, by the source the inputs ran
 * under (a change meant for one strategy shows under it alone); exits 1 on
 * any difference, 2 on bad arguments.
 */
const path = require('node:path');
const fs = require('node:fs');

const args = process.argv.slice(2);
let inputs = 200;
const dirs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--inputs') {
    inputs = Number(args[++i]);
    if (!Number.isInteger(inputs) || inputs < 1) fail(`--inputs: not a positive integer: ${args[i]}`);
  } else dirs.push(path.resolve(args[i]));
}
if (dirs.length < 1 || dirs.length > 2) fail('usage: node scripts/differential.js OLD_DIST [NEW_DIST] [--inputs N]');
if (dirs.length === 1) dirs.push(path.resolve(__dirname, '..', 'dist'));
for (const d of dirs) if (!fs.existsSync(path.join(d, 'harnesses', 'index.js'))) fail(`${d}: not a built dist directory (no harnesses/index.js)`);

function fail(msg) {
  process.stderr.write(`differential: ${msg}\n`);
  process.exit(2);
}

function load(d) {
  return {
    harnesses: require(path.join(d, 'harnesses')).HARNESSES,
    Fuzzer: require(path.join(d, 'src', 'fuzz', 'engine')).Fuzzer,
    scenarioSource: require(path.join(d, 'src', 'fuzz', 'scenario')).scenarioSource,
    rt: require(path.join(d, 'src', 'runtime')),
    st: require(path.join(d, 'src', 'strategies')),
    sw: require(path.join(d, 'src', 'model', 'switches')),
  };
}

const a = load(dirs[0]);
const b = load(dirs[1]);

const PARTS = ['steps', 'startStep', 'signature', 'failure step', 'message', 'warnings', 'decisions', 'decisionSteps', 'decisionFrom', 'conflicts', 'threads', 'trace'];

/** Everything an execution produced that a behaviour-preserving change keeps (PARTS, in order). */
function key(o, L, traced, withStart) {
  const f = o.failure;
  return JSON.stringify([o.steps, withStart ? o.startStep : null, f && L.rt.signatureOf(f), f && f.step, f && f.message, o.warnings.map(L.rt.signatureOf),
    o.decisions, o.decisionSteps, o.decisionFrom, o.conflicts, o.threads, traced ? o.trace : null]);
}

function features(m) {
  return Array.from(m.touched(), (j) => `${j}:${m.hits[j]}`).join(',');
}

let total = 0;
let differ = 0;
/** Differences by the source the input ran under (a change to one strategy shows under it alone). */
const bySource = { bytes: 0, random: 0, pct: 0 };
for (const ha of a.harnesses) {
  const hb = b.harnesses.find((x) => x.name === ha.name);
  if (hb === undefined) {
    console.log(`${ha.name}: not in the new build`);
    differ++;
    continue;
  }
  const configs = [[[], []], ...a.sw.SWITCHES.map((s) => [[s.name], []]),
    ...a.sw.VARIANTS.map((v) => [v.side === 'off' ? [v.switch] : [], [v.name]])];
  for (const [off, variants] of configs) {
    let ca;
    let cb;
    try {
      ca = ha.configure(off, variants);
      cb = hb.configure(off, variants);
    } catch {
      continue; // a switch or variant this harness does not have
    }
    // The old build's engine picks the inputs: generated, mutated and directed ones, as a run makes them.
    const scenarios = [];
    const sampler = Object.create(ha);
    sampler.execute = (s, cfg, src, o) => {
      if (scenarios.length < inputs && o.trace !== true) scenarios.push(s);
      return ha.execute(s, cfg, src, o);
    };
    new a.Fuzzer(sampler, ca, { seed: 11, runs: inputs }, () => undefined).run();
    const fa = new a.rt.FeatureMap();
    const fb = new b.rt.FeatureMap();
    scenarios.forEach((s, i) => {
      const source = (L) => (i % 3 === 0 ? L.scenarioSource(s) : i % 3 === 1 ? new L.st.RandomWalkSource(i) : new L.st.PctSource(i, 3, 400));
      const traced = i % 50 === 0;
      fa.clear();
      fb.clear();
      const oa = ha.execute(s, ca, source(a), { features: fa, conflictLog: true, trace: traced });
      const ob = hb.execute(s, cb, source(b), { features: fb, conflictLog: true, trace: traced });
      total++;
      // Builds before Outcome.startStep (commit f01ba69) do not report it: compared only when both do.
      const withStart = 'startStep' in oa && 'startStep' in ob;
      const ka = key(oa, a, traced, withStart);
      const kb = key(ob, b, traced, withStart);
      if (ka !== kb || features(fa) !== features(fb)) {
        differ++;
        bySource[['bytes', 'random', 'pct'][i % 3]]++;
        if (differ <= 3) {
          const pa = JSON.parse(ka);
          const pb = JSON.parse(kb);
          const k = pa.findIndex((x, j) => JSON.stringify(x) !== JSON.stringify(pb[j]));
          const what = k < 0 ? 'features' : PARTS[k];
          const show = (x) => (k < 0 ? '' : JSON.stringify(x[k]).slice(0, 200));
          console.log(`DIFF ${ha.name} off=[${off}] variants=[${variants}] input ${i}: ${what}\n  old ${show(pa)}\n  new ${show(pb)}`);
        }
      }
    });
  }
}
console.log(`executions compared: ${total}, differences: ${differ} (under bytes ${bySource.bytes}, random walk ${bySource.random}, PCT ${bySource.pct})`);
process.exit(differ === 0 ? 0 : 1);
