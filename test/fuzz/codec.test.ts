/**
 * The input codec (DESIGN.md §1): decoding is total, decode∘encode is the
 * identity on scenarios, encode∘decode the identity on canonical payloads,
 * and the MMF file header rejects foreign and other-version files.
 */
import test from 'ava';
import seedrandom from 'seedrandom';
import { HARNESSES } from '../../harnesses';
import { FORMAT_VERSION, HEADER_SIZE, InputFormatError, decode, encode, payloadOf, stripHeader, upgradePayload, withHeader } from '../../src/fuzz/codec';
import type { Harness } from '../../src/fuzz/harness';
import type { Scenario } from '../../src/fuzz/scenario';

const SAMPLES = 3000;

/** Seeded random byte strings: mostly short, some long, some made of interesting bytes only. */
function randomInputs(seed: string, n: number): Uint8Array[] {
  const rng = seedrandom.xor4096(seed);
  const int = (k: number): number => Math.floor(rng() * k);
  const out: Uint8Array[] = [new Uint8Array(0), Uint8Array.of(255), new Uint8Array(600).fill(255), new Uint8Array(64).fill(0x80)];
  while (out.length < n) {
    const len = rng() < 0.8 ? int(48) : int(700);
    const b = new Uint8Array(len);
    const palette = rng() < 0.2 ? [0, 1, 0x7f, 0x80, 0xff] : null;
    for (let i = 0; i < len; i++) b[i] = palette === null ? int(256) : palette[int(palette.length)]!;
    out.push(b);
  }
  return out;
}

/** Every field of `s` is within the harness's ranges. */
function wellFormed(h: Harness, s: Scenario): boolean {
  if (!Number.isInteger(s.config) || s.config < 0 || s.config >= Math.max(1, h.configRange)) return false;
  if (!Number.isInteger(s.walkSeed) || s.walkSeed < 0 || s.walkSeed >= 2 ** 32) return false;
  if (!Number.isInteger(s.walkRate) || s.walkRate < 0 || s.walkRate > 255) return false;
  if (typeof s.pct !== 'boolean') return false;
  if (s.programs.length !== h.slots.length) return false;
  return s.programs.every((prog, i) => {
    const slot = h.slots[i]!;
    if (prog.length > slot.maxOps) return false;
    return prog.every((op) => {
      const spec = slot.ops[op.kind];
      if (spec === undefined || op.args.length !== spec.args.length) return false;
      return op.args.every((a, j) => Number.isInteger(a) && a >= 0 && a < spec.args[j]!.range);
    });
  });
}

/** A comparable form of a scenario (typed arrays as plain arrays). */
function key(s: Scenario): string {
  return JSON.stringify([s.config, s.walkSeed, s.walkRate, s.pct, s.programs, Array.from(s.schedule), Array.from(s.choices)]);
}

test('HARNESSES is not empty and every harness has at least one slot', (t) => {
  t.true(HARNESSES.length > 0);
  for (const h of HARNESSES) t.true(h.slots.length > 0, h.name);
});

for (const h of HARNESSES) {
  test(`${h.name}: decoding is total and gives well-formed scenarios`, (t) => {
    const inputs = randomInputs(`codec-total:${h.name}`, SAMPLES);
    let bad = 0;
    for (const b of inputs) {
      let s: Scenario;
      try {
        s = decode(h, b);
      } catch (e) {
        t.fail(`decode threw on [${Array.from(b).join(',')}]: ${String(e)}`);
        return;
      }
      if (!wellFormed(h, s)) bad++;
    }
    t.is(bad, 0);
  });

  test(`${h.name}: decode∘encode is the identity on decoded scenarios`, (t) => {
    let mismatches = 0;
    for (const b of randomInputs(`codec-de:${h.name}`, SAMPLES)) {
      const s = decode(h, b);
      const again = decode(h, encode(h, s));
      if (key(again) !== key(s)) {
        if (mismatches === 0) t.deepEqual(again, s, `input [${Array.from(b).join(',')}]`);
        mismatches++;
      }
    }
    t.is(mismatches, 0);
  });

  test(`${h.name}: encode∘decode is the identity on canonical payloads`, (t) => {
    let mismatches = 0;
    for (const b of randomInputs(`codec-ed:${h.name}`, SAMPLES)) {
      const canonical = encode(h, decode(h, b));
      const again = encode(h, decode(h, canonical));
      if (Buffer.compare(Buffer.from(again), Buffer.from(canonical)) !== 0) {
        if (mismatches === 0) t.deepEqual(Array.from(again), Array.from(canonical));
        mismatches++;
      }
    }
    t.is(mismatches, 0);
  });

  test(`${h.name}: encode reduces out-of-range scenarios to canonical bytes`, (t) => {
    const wild: Scenario = {
      ...decode(h, new Uint8Array(0)),
      config: 1000 + h.configRange,
      programs: h.slots.map((slot) => Array.from({ length: slot.maxOps + 2 }, (_, i) => ({ kind: 97 + i, args: [250, 251, 252, 253] }))),
      schedule: Uint8Array.of(5, 1, 9, 0),
      choices: Uint8Array.of(3, 200),
    };
    const bytes = encode(h, wild);
    const s = decode(h, bytes);
    t.true(wellFormed(h, s));
    t.is(s.config, wild.config % Math.max(1, h.configRange));
    s.programs.forEach((p, i) => t.is(p.length, h.slots[i]!.maxOps));
    t.deepEqual(Array.from(s.schedule), [5, 1, 9, 0]);
    t.deepEqual(Array.from(s.choices), [3, 200]);
    t.deepEqual(Array.from(encode(h, s)), Array.from(bytes));
  });
}

/** The canonical bytes of the empty scenario up to (not including) the schedule length: config, walk, counts. */
function emptyPrefix(h: Harness): number[] {
  const b = Array.from(encode(h, decode(h, new Uint8Array(0))));
  check(b[b.length - 1] === 0, 'the empty scenario ends with a zero schedule length');
  return b.slice(0, -1);
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(what);
}

test('decode: a missing payload reads as the empty scenario, a truncated schedule keeps what is there', (t) => {
  const h = HARNESSES[0]!;
  const empty = decode(h, new Uint8Array(0));
  t.is(empty.config, 0);
  t.is(empty.walkSeed, 0);
  t.is(empty.walkRate, 0);
  t.deepEqual(empty.programs.map((p) => p.length), h.slots.map(() => 0));
  t.is(empty.schedule.length, 0);
  t.is(empty.choices.length, 0);
  const prefix = emptyPrefix(h);
  t.true(prefix.every((b) => b === 0));
  // Every slot empty, then a schedule that claims 100 bytes but has 2.
  const s = decode(h, Uint8Array.from([...prefix, 100, 7, 1]));
  t.deepEqual(Array.from(s.schedule), [7, 1]);
  t.is(s.choices.length, 0);
  // Re-encoding writes the length actually present.
  t.deepEqual(Array.from(encode(h, s)), [...prefix, 2, 7, 1]);
});

test('decode: a multi-byte schedule length (LEB128) is read', (t) => {
  const h = HARNESSES[0]!;
  const schedule = Array.from({ length: 200 }, (_, i) => i & 0xff);
  const s: Scenario = { ...decode(h, new Uint8Array(0)), schedule: Uint8Array.from(schedule), choices: Uint8Array.of(9, 8) };
  const bytes = encode(h, s);
  const at = emptyPrefix(h).length;
  // 200 = 0xc8 → LEB128 [0xc8, 0x01]
  t.deepEqual(Array.from(bytes.subarray(at, at + 2)), [0xc8, 0x01]);
  t.deepEqual(decode(h, bytes), s);
});

test('withHeader/stripHeader round trip', (t) => {
  for (const payload of [new Uint8Array(0), Uint8Array.of(1, 2, 3), new Uint8Array(300).fill(0xab)]) {
    const file = withHeader(payload);
    t.is(file.length, payload.length + HEADER_SIZE);
    t.deepEqual(Array.from(file.subarray(0, HEADER_SIZE)), [0x4d, 0x4d, 0x46, FORMAT_VERSION]);
    t.deepEqual(Array.from(stripHeader(file)), Array.from(payload));
  }
});

test('stripHeader rejects an empty file', (t) => {
  const e = t.throws(() => stripHeader(new Uint8Array(0)), { instanceOf: InputFormatError });
  t.is(e?.message, 'empty file');
  t.is(e?.name, 'InputFormatError');
});

test('stripHeader rejects foreign files (short, wrong magic) with a one-line reason', (t) => {
  for (const file of [Uint8Array.of(0x4d), Uint8Array.of(0x4d, 0x4d, 0x46), Buffer.from('hello world'), Uint8Array.of(0x4d, 0x4d, 0x47, FORMAT_VERSION, 1)]) {
    const e = t.throws(() => stripHeader(file), { instanceOf: InputFormatError });
    t.regex(e?.message ?? '', /not an mmufuzz input/);
    t.false((e?.message ?? '').includes('\n'));
  }
});

test('stripHeader rejects other format versions and names the readable ones', (t) => {
  for (const v of [0, 1, FORMAT_VERSION + 1, 255]) {
    const file = Uint8Array.of(0x4d, 0x4d, 0x46, v, 1, 2);
    const e = t.throws(() => stripHeader(file), { instanceOf: InputFormatError });
    t.is(e?.message, `input format version ${v} is not supported (this mmufuzz reads versions 2 and 3)`);
  }
});

test('a version 2 file reads as it did: its payload gets schedule kind 0 (preemptions and random switches) at offset 6', (t) => {
  const h = HARNESSES.find((x) => x.name === 'mmio-gen')!;
  // A version 2 input (test/model/seed002-mmio-gen.test.ts's) and the same bytes under a version 3 header, for contrast.
  const v2 = Buffer.from('TU1GAgAAAAAAAAIAAQAAAQACAAEAAAEAAgAAAAACASAPAhAACAEWAhoBCAAeAQUBBAAKAQUCIwAHASIBIAAHAg==', 'base64');
  const up = stripHeader(v2);
  t.is(up.length, v2.length - HEADER_SIZE + 1);
  t.is(up[6], 0);
  t.deepEqual(Array.from(up.subarray(0, 6)), Array.from(v2.subarray(HEADER_SIZE, HEADER_SIZE + 6)));
  t.deepEqual(Array.from(up.subarray(7)), Array.from(v2.subarray(HEADER_SIZE + 6)));
  const s = decode(h, up);
  t.false(s.pct);
  // Its operations are the ones the version 2 layout put there (the first slot's count byte was payload byte 6).
  t.is(s.programs[0]!.length, v2[HEADER_SIZE + 6]! % (h.slots[0]!.maxOps + 1));
  // And a version 3 file round-trips unchanged.
  t.deepEqual(Array.from(stripHeader(withHeader(encode(h, s)))), Array.from(encode(h, s)));
  // Payloads of version 2 too short to reach offset 6 are unchanged (the missing byte reads as 0 either way).
  t.deepEqual(Array.from(upgradePayload(Uint8Array.of(1, 2, 3), 2)), [1, 2, 3]);
  t.deepEqual(Array.from(upgradePayload(Uint8Array.of(1, 2, 3, 4, 5, 6, 7), 2)), [1, 2, 3, 4, 5, 6, 0, 7]);
  t.deepEqual(Array.from(upgradePayload(Uint8Array.of(1, 2, 3, 4, 5, 6, 7), 3)), [1, 2, 3, 4, 5, 6, 7]);
  // jsfuzz's reader upgrades too.
  t.deepEqual(Array.from(payloadOf(v2)), Array.from(up));
});

test('the schedule kind byte: odd is PCT; encode writes 0 or 1', (t) => {
  const h = HARNESSES[0]!;
  for (const b of [0, 1, 2, 3, 255]) {
    const s = decode(h, Uint8Array.of(0, 0, 0, 0, 0, 0, b));
    t.is(s.pct, b % 2 === 1);
    t.is(encode(h, s)[6], b % 2);
  }
});

test('payloadOf strips our header and passes anything else through', (t) => {
  const payload = Uint8Array.of(7, 8, 9);
  t.deepEqual(Array.from(payloadOf(withHeader(payload))), [7, 8, 9]);
  t.deepEqual(Array.from(payloadOf(payload)), [7, 8, 9]);
  t.deepEqual(Array.from(payloadOf(new Uint8Array(0))), []);
  // Another version's header is not ours: the whole buffer is the payload.
  const other = Uint8Array.of(0x4d, 0x4d, 0x46, FORMAT_VERSION + 1, 5);
  t.deepEqual(Array.from(payloadOf(other)), Array.from(other));
  // A bare header is an empty payload.
  t.deepEqual(Array.from(payloadOf(withHeader(new Uint8Array(0)))), []);
});
