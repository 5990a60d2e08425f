/**
 * Mutators: every mutation of any input is a valid (decodable) input no
 * longer than MAX_INPUT, the same seed gives the same mutations, and every
 * byte-level and structure-aware mutation kind is reachable.
 */
import test from 'ava';
import seedrandom from 'seedrandom';
import { HARNESSES } from '../../harnesses';
import { decode, encode } from '../../src/fuzz/codec';
import type { Harness } from '../../src/fuzz/harness';
import { MAX_INPUT, Mutator, PCT_DEPTH, RANDOM_RATES } from '../../src/fuzz/mutate';
import type { ScheduleArm } from '../../src/fuzz/schedule-arms';
import { decodePreemptions, encodePreemptions } from '../../src/strategies';

const MUTATIONS = 2500;

const STRUCTURED_KINDS = [
  'insert-op', 'delete-op', 'swap-ops', 'duplicate-op', 'change-arg',
  'add-preemption', 'move-preemption', 'remove-preemption', 'change-choice', 'splice', 'change-walk',
];
const BYTE_KINDS = ['bitflip', 'interesting', 'insert-byte', 'erase-bytes', 'copy-part', 'add-sub'];

function randomBytes(rng: seedrandom.PRNG, max: number): Uint8Array {
  const n = Math.floor(rng() * max);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
  return b;
}

/**
 * Runs `n` mutations the way the engine does: a pool of inputs (random ones
 * to start, then the mutants), a base and sometimes another input to splice
 * with. Returns every mutant with its `how`; a mutation that threw is
 * recorded as how `THREW: <message>` with empty bytes (the regression tests
 * at the end of this file check that none does).
 */
function campaign(h: Harness, seed: string, n: number): { bytes: Uint8Array; how: string }[] {
  const inputRng = seedrandom.xor4096(`inputs:${seed}`);
  const m = new Mutator(h, seedrandom.xor4096(`mutator:${seed}`));
  const pool: Uint8Array[] = [new Uint8Array(0), randomBytes(inputRng, 1000)];
  for (let i = 0; i < 30; i++) pool.push(randomBytes(inputRng, i % 5 === 0 ? 700 : 40));
  const out: { bytes: Uint8Array; how: string }[] = [];
  for (let i = 0; i < n; i++) {
    const base = pool[Math.floor(inputRng() * pool.length)]!;
    const other = inputRng() < 0.3 ? pool[Math.floor(inputRng() * pool.length)]! : null;
    let r: { bytes: Uint8Array; how: string };
    try {
      r = m.mutate(base, other);
    } catch (e) {
      r = { bytes: new Uint8Array(0), how: `THREW: ${(e as Error).message}` };
    }
    out.push(r);
    if (inputRng() < 0.3) pool.push(r.bytes);
  }
  return out;
}

for (const h of HARNESSES) {
  test(`${h.name}: mutants always decode, stay within MAX_INPUT and are reproducible`, (t) => {
    const a = campaign(h, h.name, MUTATIONS);
    let tooLong = 0;
    let undecodable = 0;
    for (const r of a) {
      if (r.bytes.length > MAX_INPUT) tooLong++;
      try {
        encode(h, decode(h, r.bytes));
      } catch {
        undecodable++;
      }
    }
    t.is(tooLong, 0);
    t.is(undecodable, 0);
    const b = campaign(h, h.name, MUTATIONS);
    t.is(b.length, a.length);
    let differ = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i]!.how !== b[i]!.how || Buffer.compare(Buffer.from(a[i]!.bytes), Buffer.from(b[i]!.bytes)) !== 0) differ++;
    }
    t.is(differ, 0, 'same seed, same mutations');
    // A different seed takes a different path.
    const c = campaign(h, `${h.name}:other`, 50);
    t.notDeepEqual(c.map((r) => r.how), a.slice(0, 50).map((r) => r.how));
  });

  test(`${h.name}: every mutation kind is exercised`, (t) => {
    const seen = new Set<string>();
    for (const r of campaign(h, `kinds:${h.name}`, MUTATIONS)) if (!r.how.startsWith('THREW')) for (const k of r.how.split('+')) seen.add(k);
    for (const k of [...STRUCTURED_KINDS, ...BYTE_KINDS]) t.true(seen.has(k), `mutation kind ${k} never happened`);
    t.deepEqual([...seen].filter((k) => !STRUCTURED_KINDS.includes(k) && !BYTE_KINDS.includes(k)), []);
  });

  test(`${h.name}: structure-aware mutations produce canonical payloads`, (t) => {
    const m = new Mutator(h, seedrandom.xor4096(`structured:${h.name}`));
    const rng = seedrandom.xor4096(`structured-inputs:${h.name}`);
    let nonCanonical = 0;
    for (let i = 0; i < 500; i++) {
      const r = m.structured(randomBytes(rng, 60), i % 3 === 0 ? randomBytes(rng, 60) : null);
      if (Buffer.compare(Buffer.from(encode(h, decode(h, r.bytes))), Buffer.from(r.bytes)) !== 0) nonCanonical++;
    }
    t.is(nonCanonical, 0);
  });
}

test('a mutant of an over-long input is cut to MAX_INPUT', (t) => {
  const h = HARNESSES[0]!;
  const m = new Mutator(h, seedrandom.xor4096('long'));
  const big = new Uint8Array(MAX_INPUT * 3).fill(3);
  for (let i = 0; i < 200; i++) t.true(m.mutate(big, null).bytes.length <= MAX_INPUT);
});

// Regression: structure-aware mutations used to throw a RangeError (encodePreemptions) when two
// consecutive preemptions ended up ≥ 2^28 steps apart (move-preemption past the limit, or
// remove-preemption merging two large deltas); random inputs hit it. encodePreemptions now clamps.
test('no mutation of a random input throws, for any harness', (t) => {
  const threw: string[] = [];
  for (const h of HARNESSES) {
    for (const seed of [h.name, `kinds:${h.name}`]) {
      for (const r of campaign(h, seed, MUTATIONS)) if (r.how.startsWith('THREW')) threw.push(`${h.name} (${seed}): ${r.how}`);
    }
  }
  t.deepEqual(threw.slice(0, 3), []);
});

test('structure-aware mutation of a schedule with far-apart preemptions never throws', (t) => {
  const h = HARNESSES[0]!;
  const base = encode(h, {
    ...decode(h, new Uint8Array(0)),
    schedule: encodePreemptions([{ step: 2 ** 28 - 1, thread: 0 }, { step: 2 ** 29 - 2, thread: 1 }]),
  });
  const m = new Mutator(h, seedrandom.xor4096('far-apart'));
  let threw = 0;
  for (let i = 0; i < 500; i++) {
    try {
      const r = m.structured(base, null);
      decode(h, r.bytes);
    } catch {
      threw++;
    }
  }
  t.is(threw, 0);
});

// ---- generated inputs and reschedules -----------------------------------------

const SPAN = { lo: 270, hi: 470 };

for (const h of HARNESSES) {
  test(`${h.name}: generated inputs place their preemptions inside the decision span, per shape`, (t) => {
    const m = new Mutator(h, seedrandom.xor4096(`generate:${h.name}`));
    for (let i = 0; i < 300; i++) {
      const arm: ScheduleArm = i % 3 === 2 ? { shape: 'pct' } : i % 2 === 0 ? { shape: 'preemptions' } : { shape: 'random-switches', rate: RANDOM_RATES[i % RANDOM_RATES.length]! };
      const s = decode(h, m.generate(SPAN, arm));
      const pre = decodePreemptions(s.schedule);
      for (const p of pre) {
        t.true(p.step >= SPAN.lo && p.step <= SPAN.lo + Math.ceil((SPAN.hi - SPAN.lo + 1) * 1.25), `step ${p.step} outside the span`);
        t.true(p.thread <= h.slots.length);
      }
      t.true(s.choices.length >= 16 && s.choices.length < 64, 'random model choices');
      t.is(s.pct, arm.shape === 'pct');
      if (arm.shape === 'pct') {
        // PCT with depth 3: two change points (their thread bytes unused, written as 0), priorities from the seed.
        t.is(s.walkRate, 0);
        t.is(pre.length, PCT_DEPTH - 1);
        t.true(pre.every((p) => p.thread === 0));
      } else if (arm.shape === 'preemptions') {
        t.is(s.walkRate, 0, 'serial between preemptions');
        t.true(pre.length >= 1 && pre.length <= 4);
      } else {
        t.is(s.walkRate, arm.rate, 'random switches at the arm\'s rate');
        t.true(pre.length <= 2);
      }
    }
    // Reproducible from the seed.
    const a = new Mutator(h, seedrandom.xor4096('same'));
    const b = new Mutator(h, seedrandom.xor4096('same'));
    for (let i = 0; i < 20; i++) t.deepEqual(a.generate(SPAN, { shape: 'preemptions' }), b.generate(SPAN, { shape: 'preemptions' }));
  });

  test(`${h.name}: reschedule keeps configuration and programs and draws a new schedule and choices`, (t) => {
    const m = new Mutator(h, seedrandom.xor4096(`reschedule:${h.name}`));
    const base = m.generate(SPAN, { shape: 'preemptions' });
    const s0 = decode(h, base);
    const kinds = new Map<string, number>();
    let changed = 0;
    let newChoices = 0;
    for (let i = 0; i < 400; i++) {
      const arm: ScheduleArm = i % 4 === 0 ? { shape: 'preemptions' } : i % 4 === 1 ? { shape: 'pct' } : { shape: 'random-switches', rate: RANDOM_RATES[i % RANDOM_RATES.length]! };
      const r = m.reschedule(base, SPAN, arm);
      kinds.set(r.how, (kinds.get(r.how) ?? 0) + 1);
      const s = decode(h, r.bytes);
      t.is(s.config, s0.config);
      t.deepEqual(s.programs, s0.programs);
      if (Buffer.compare(Buffer.from(r.bytes), Buffer.from(base)) !== 0) changed++;
      if (Buffer.compare(Buffer.from(s.choices), Buffer.from(s0.choices)) !== 0) newChoices++;
      t.is(r.how, `new-schedule(${arm.shape})`);
      t.is(s.walkRate, arm.shape === 'random-switches' ? arm.rate : 0);
      t.is(s.pct, arm.shape === 'pct');
      for (const p of decodePreemptions(s.schedule)) t.true(p.step >= SPAN.lo && p.step <= SPAN.hi + (SPAN.hi - SPAN.lo + 1));
    }
    t.deepEqual([...kinds.keys()].sort(), ['new-schedule(pct)', 'new-schedule(preemptions)', 'new-schedule(random-switches)']);
    t.true(changed > 390, `only ${changed} of 400 reschedules changed the input`);
    t.true(newChoices > 390, `only ${newChoices} of 400 reschedules drew new choices`);
  });
}

// ---- extensions ---------------------------------------------------------------------

for (const h of HARNESSES) {
  test(`${h.name}: extend appends one operation to one program, or to each with room, and keeps everything else`, (t) => {
    const m = new Mutator(h, seedrandom.xor4096(`extend:${h.name}`));
    const rng = seedrandom.xor4096(`extend-inputs:${h.name}`);
    let ones = 0;
    let eaches = 0;
    for (let i = 0; i < 300; i++) {
      const base = encode(h, decode(h, randomBytes(rng, 80)));
      const s0 = decode(h, base);
      const room = s0.programs.map((p, k) => p.length < h.slots[k]!.maxOps && h.slots[k]!.ops.length > 0);
      const where = i % 2 === 0 ? 'one' : 'each';
      const e = m.extend(base, where);
      if (!room.some((r) => r)) {
        t.is(e, null, 'no program has room');
        continue;
      }
      t.not(e, null);
      const s = decode(h, e!.bytes);
      t.is(s.config, s0.config);
      t.is(s.walkSeed, s0.walkSeed);
      t.is(s.walkRate, s0.walkRate);
      t.deepEqual(s.schedule, s0.schedule);
      t.deepEqual(s.choices, s0.choices);
      let grown = 0;
      s.programs.forEach((p, k) => {
        const p0 = s0.programs[k]!;
        t.deepEqual(p.slice(0, p0.length), [...p0], 'the old program is a prefix');
        t.true(p.length === p0.length || (p.length === p0.length + 1 && room[k]!), 'one op more, only where there was room');
        if (p.length > p0.length) grown++;
      });
      if (where === 'one') {
        ones++;
        t.is(grown, 1);
      } else {
        eaches++;
        t.is(grown, room.filter((r) => r).length);
      }
    }
    t.true(ones > 50 && eaches > 50, `${ones} / ${eaches} extensions checked`);
  });
}

test('change-walk draws a new seed, another rate, or switches between random switches and PCT priorities', (t) => {
  const h = HARNESSES.find((x) => x.name === 'mmio-gen')!;
  const m = new Mutator(h, seedrandom.xor4096('change-walk'));
  const base = m.generate({ lo: 0, hi: 100 }, { shape: 'random-switches', rate: 64 });
  const s0 = decode(h, base);
  const seen = { seed: 0, rate: 0, pct: 0 };
  for (let i = 0; i < 4000; i++) {
    const r = m.structured(base, null, { lo: 0, hi: 100 });
    if (r.how !== 'change-walk') continue;
    const s = decode(h, r.bytes);
    if (s.walkSeed !== s0.walkSeed) seen.seed++;
    if (s.walkRate !== s0.walkRate) seen.rate++;
    if (s.pct !== s0.pct) seen.pct++;
    t.deepEqual(s.programs, s0.programs);
  }
  t.true(seen.seed > 100 && seen.rate > 30 && seen.pct > 10, JSON.stringify(seen));
});

test('a conflict-directed schedule is explicit preemptions even when its parent ran under PCT priorities', (t) => {
  const h = HARNESSES.find((x) => x.name === 'mmio-gen')!;
  const m = new Mutator(h, seedrandom.xor4096('direct-pct'));
  const parent = m.generate({ lo: 0, hi: 100 }, { shape: 'pct' });
  t.true(decode(h, parent).pct);
  const d = decode(h, m.direct(parent, { prefix: Uint32Array.of(3, 1), conflicts: Uint32Array.of(5, 0, 6, 1) }).bytes);
  t.false(d.pct);
  t.is(d.walkRate, 0);
});
