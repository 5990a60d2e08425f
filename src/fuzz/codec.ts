/**
 * Bytes ⇄ scenarios. Decoding is total: any bytes give a valid scenario,
 * missing bytes read as 0. Layout of the payload:
 *
 *   config byte
 *   walk seed (4 bytes, little-endian) and walk rate (1 byte): random
 *     switches between explicit preemptions (0: serial)
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
 */
import type { Harness } from './harness';
import type { Op, Scenario } from './scenario';

export const FORMAT_VERSION = 2;
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
  return { config, walkSeed, walkRate, programs, schedule, choices };
}

/** Encodes a scenario into canonical payload bytes. */
export function encode(h: Harness, s: Scenario): Uint8Array {
  const seed = s.walkSeed >>> 0;
  // The header and programs first (small), then schedule and choices copied in one piece each.
  const head: number[] = [s.config % Math.max(1, h.configRange), seed & 0xff, (seed >>> 8) & 0xff, (seed >>> 16) & 0xff, (seed >>> 24) & 0xff, s.walkRate & 0xff];
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

/** Checks and strips the header of a file's bytes; throws InputFormatError with a one-line reason. */
export function stripHeader(file: Uint8Array): Uint8Array {
  if (file.length < HEADER_SIZE || file[0] !== MAGIC[0] || file[1] !== MAGIC[1] || file[2] !== MAGIC[2]) {
    throw new InputFormatError(file.length === 0 ? 'empty file' : 'not an mmufuzz input (no MMF header)');
  }
  if (file[3] !== FORMAT_VERSION) {
    throw new InputFormatError(`input format version ${file[3]} is not supported (this mmufuzz reads version ${FORMAT_VERSION})`);
  }
  return file.subarray(HEADER_SIZE);
}

/** For jsfuzz: a buffer with our header is stripped; anything else is a raw payload. */
export function payloadOf(buf: Uint8Array): Uint8Array {
  if (buf.length >= HEADER_SIZE && buf[0] === MAGIC[0] && buf[1] === MAGIC[1] && buf[2] === MAGIC[2] && buf[3] === FORMAT_VERSION) {
    return buf.subarray(HEADER_SIZE);
  }
  return buf;
}
