/**
 * Bytes ⇄ scenarios. Decoding is total: any bytes give a valid scenario,
 * missing bytes read as 0. Layout of the payload:
 *
 *   config byte
 *   walk seed (4 bytes, little-endian) and walk rate (1 byte): random
 *     switches between explicit preemptions (0: serial)
 *   schedule kind (1 byte, mod 2; new in version 3): 0 preemptions and
 *     random switches, 1 PCT priorities (strategies/fuzz-bytes.ts)
 *   for each thread slot: count byte (mod maxOps+1), then per op:
 *     kind byte (mod the slot's op count), one byte per argument (mod its range)
 *   schedule length (LEB128), schedule bytes
 *   choice bytes (the rest)
 *
 * `encode` writes canonical bytes (every byte already reduced), so
 * decode∘encode is the identity on scenarios and encode∘decode the
 * identity on canonical payloads.
 *
 * Files on disk carry a 4-byte header, `MMF` and the format version, so a
 * file of another version (or not ours) is rejected with a clear message.
 * Version 2 files (before the schedule kind byte) are still read, with the
 * meaning they had: their payload gets a schedule kind of 0.
 */
import type { Harness } from './harness';
import type { Op, Scenario } from './scenario';

export const FORMAT_VERSION = 3;
/** Older versions still read (upgraded on reading: upgradePayload). */
export const READABLE_VERSIONS: readonly number[] = [2, 3];
/** The offset of the schedule kind byte (after config, walk seed and walk rate). */
const KIND_OFFSET = 6;
const MAGIC = [0x4d, 0x4d, 0x46]; // "MMF"
export const HEADER_SIZE = 4;

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  byte(): number {
    return this.pos < this.b.length ? this.b[this.pos++]! : 0;
  }
  varint(): number {
    let v = 0;
    for (let i = 0; i < 3; i++) {
      const x = this.byte();
      v += (x & 0x7f) * 2 ** (7 * i);
      if ((x & 0x80) === 0) break;
    }
    return v;
  }
  take(n: number): Uint8Array {
    const end = Math.min(this.b.length, this.pos + n);
    const out = this.b.slice(this.pos, end);
    this.pos = end;
    return out;
  }
  rest(): Uint8Array {
    return this.take(this.b.length - this.pos);
  }
}

/** Decodes a payload (no header) into a scenario for `h`. Never throws. */
export function decode(h: Harness, payload: Uint8Array): Scenario {
  const r = new Reader(payload);
  const config = r.byte() % Math.max(1, h.configRange);
  const walkSeed = (r.byte() | (r.byte() << 8) | (r.byte() << 16) | (r.byte() << 24)) >>> 0;
  const walkRate = r.byte();
  const pct = r.byte() % 2 === 1;
  const programs: Op[][] = h.slots.map((slot) => {
    const n = r.byte() % (slot.maxOps + 1);
    const ops: Op[] = [];
    for (let i = 0; i < n; i++) {
      const kind = slot.ops.length === 0 ? 0 : r.byte() % slot.ops.length;
      const spec = slot.ops[kind];
      const args = spec === undefined ? [] : spec.args.map((a) => r.byte() % Math.max(1, a.range));
      ops.push({ kind, args });
    }
    return ops;
  });
  const schedule = r.take(r.varint());
  const choices = r.rest();
  return { config, walkSeed, walkRate, pct, programs, schedule, choices };
}

/** Encodes a scenario into canonical payload bytes. */
export function encode(h: Harness, s: Scenario): Uint8Array {
  const seed = s.walkSeed >>> 0;
  // The header and programs first (small), then schedule and choices copied in one piece each.
  const head: number[] = [s.config % Math.max(1, h.configRange), seed & 0xff, (seed >>> 8) & 0xff, (seed >>> 16) & 0xff, (seed >>> 24) & 0xff, s.walkRate & 0xff, s.pct ? 1 : 0];
  const slots = h.slots;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    const prog = s.programs[i] ?? [];
    const n = Math.min(prog.length, slot.maxOps);
    head.push(n);
    for (let k = 0; k < n; k++) {
      const op = prog[k]!;
      const kind = slot.ops.length === 0 ? 0 : op.kind % slot.ops.length;
      head.push(kind);
      const spec = slot.ops[kind];
      if (spec !== undefined) for (let j = 0; j < spec.args.length; j++) head.push((op.args[j] ?? 0) % Math.max(1, spec.args[j]!.range));
    }
  }
  const schedule = s.schedule.length > 2 ** 21 - 1 ? s.schedule.subarray(0, 2 ** 21 - 1) : s.schedule;
  let len = schedule.length;
  do {
    const b = len & 0x7f;
    len = Math.floor(len / 128);
    head.push(len > 0 ? b | 0x80 : b);
  } while (len > 0);
  const out = new Uint8Array(head.length + schedule.length + s.choices.length);
  out.set(head, 0);
  out.set(schedule, head.length);
  out.set(s.choices, head.length + schedule.length);
  return out;
}

/** Prefixes the file header. */
export function withHeader(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  out.set(MAGIC, 0);
  out[3] = FORMAT_VERSION;
  out.set(payload, HEADER_SIZE);
  return out;
}

/** A file that cannot be read as an mmufuzz input. */
export class InputFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputFormatError';
  }
}

/**
 * A payload of format `version` as a payload of the current format, with
 * the same meaning. Version 2 had no schedule kind byte: a 0 (preemptions
 * and random switches) goes in at its offset; a payload too short to reach
 * it reads the missing byte as 0 anyway.
 */
export function upgradePayload(payload: Uint8Array, version: number): Uint8Array {
  if (version >= 3 || payload.length <= KIND_OFFSET) return payload;
  const out = new Uint8Array(payload.length + 1);
  out.set(payload.subarray(0, KIND_OFFSET), 0);
  out.set(payload.subarray(KIND_OFFSET), KIND_OFFSET + 1);
  return out;
}

function hasMagic(b: Uint8Array): boolean {
  return b.length >= HEADER_SIZE && b[0] === MAGIC[0] && b[1] === MAGIC[1] && b[2] === MAGIC[2];
}

/** Checks and strips the header of a file's bytes (upgrading an older readable version); throws InputFormatError with a one-line reason. */
export function stripHeader(file: Uint8Array): Uint8Array {
  if (!hasMagic(file)) {
    throw new InputFormatError(file.length === 0 ? 'empty file' : 'not an mmufuzz input (no MMF header)');
  }
  const version = file[3]!;
  if (!READABLE_VERSIONS.includes(version)) {
    throw new InputFormatError(`input format version ${version} is not supported (this mmufuzz reads versions ${READABLE_VERSIONS.join(' and ')})`);
  }
  return upgradePayload(file.subarray(HEADER_SIZE), version);
}

/** For jsfuzz: a buffer with our header (a readable version) is stripped; anything else is a raw payload. */
export function payloadOf(buf: Uint8Array): Uint8Array {
  if (hasMagic(buf) && READABLE_VERSIONS.includes(buf[3]!)) return upgradePayload(buf.subarray(HEADER_SIZE), buf[3]!);
  return buf;
}
