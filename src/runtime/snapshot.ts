import type { Execution } from './execution';
import type { SimThread } from './thread';

/**
 * Set-up snapshots: a harness whose executions all start with the same
 * serial prelude runs it once in a template execution, and starts each later
 * execution from a copy of the state it left (Execution.captureSetup /
 * restoreSetup copy the execution's own bookkeeping; a CopyPlan copies the
 * model's objects).
 *
 * A CopyPlan is compiled once from the template's object graph into code
 * that rebuilds the graph: every object allocated (class instances by a
 * constructor per class and field list, which stores every field in order,
 * so a copy's fields are in-object and all copies of a class share one map),
 * then every field stored by name. The code is cut into small functions:
 * V8 optimizes each quickly, where one 700-statement builder took 2.8 s of
 * TurboFan time per plan. A copy of the unsync set-up (115 objects) costs
 * ~17 µs against ~70 µs for its prelude. (A generic copy — Object.create
 * and a keyed store per field — cost 50–70 µs and put objects of 20+ fields
 * in dictionary mode, which made every later step 70% slower.)
 *
 * The copy keeps prototypes (class instances stay instances of their class),
 * copies arrays, Maps, Sets and typed arrays, keeps shared structure and
 * cycles, and maps the template's Execution and threads to the new ones.
 * Compiling refuses (SnapshotRefused) what it cannot copy faithfully: a
 * function (a closure captures the template's objects), a generator, a
 * thread or execution it was not given (they refuse through CLONE), a
 * property it cannot see. Classes that keep closures or per-execution
 * caches over themselves (a lock's blockers by call site, the RCU actor's
 * blocker) say through CLONE how to make a fresh instance and which fields
 * to copy into it.
 */
export const CLONE: unique symbol = Symbol('mmufuzz.clone');

/** How to copy an instance of a class that holds closures or caches over itself: a fresh instance for the new execution, then these fields copied. */
export interface CopyRecipe {
  readonly make: (ex: Execution) => object;
  readonly fields: readonly string[];
}

/** A class whose instances are copied by recipe (or refuse, by throwing SnapshotRefused). */
export interface SelfCopying {
  [CLONE](): CopyRecipe;
}

/** The state cannot be copied faithfully; the caller runs the set-up instead. */
export class SnapshotRefused extends Error {
  constructor(why: string) {
    super(`set-up snapshot refused: ${why}`);
    this.name = 'SnapshotRefused';
  }
}

/** %GeneratorPrototype%, to recognise generator objects (a generator's prototype's prototype). */
function* probe(): Generator<never, void, unknown> {}
const GENERATOR_PROTO: object = Object.getPrototypeOf(Object.getPrototypeOf(probe())) as object;

/** Copies a typed array of the template (default: slice; a harness may take page tables from its pool). */
export type TypedCopy = (a: ArrayBufferView) => ArrayBufferView;

const sliceCopy: TypedCopy = (a) => (a as Uint8Array).slice();

type Chunk = (O: unknown[], ex: Execution, th: readonly SimThread[], C: readonly (new () => object)[], M: readonly CopyRecipe['make'][], T: readonly ArrayBufferView[], A: TypedCopy, S: readonly object[], V: readonly unknown[]) => void;

/** Statements per compiled chunk: TurboFan's time grows faster than linearly with a function's size (one 700-statement builder took 2.8 s to optimize). */
const CHUNK = 48;

/**
 * Constructors that give copies their shape: one per (prototype, field list),
 * shared by every plan, assigning every field in order. Objects made by `new`
 * keep their fields in-object (Object.create objects grow an out-of-object
 * store three fields at a time), and every copy of a class has one map.
 */
const SHAPES = new Map<object | null, Map<string, new () => object>>();

function shapeOf(proto: object | null, keys: readonly string[]): new () => object {
  let byKeys = SHAPES.get(proto);
  if (byKeys === undefined) {
    byKeys = new Map();
    SHAPES.set(proto, byKeys);
  }
  const sig = keys.join('\u0000');
  let ctor = byKeys.get(sig);
  if (ctor === undefined) {
    // Field names come from the template's own objects; each is a string literal here.
    ctor = new Function(keys.map((k) => `this[${JSON.stringify(k)}] = undefined;`).join('\n')) as new () => object;
    ctor.prototype = proto;
    byKeys.set(sig, ctor);
  }
  return ctor;
}

export class CopyPlan<R> {
  private constructor(
    private readonly chunks: readonly Chunk[],
    private readonly ctors: readonly (new () => object)[],
    private readonly makers: readonly CopyRecipe['make'][],
    private readonly typed: readonly ArrayBufferView[],
    private readonly typedCopy: TypedCopy,
    private readonly shared: readonly object[],
    private readonly values: readonly unknown[],
    /** Objects copied per copy (for reports and tests). */
    readonly objects: number,
  ) {}

  /**
   * Compiles the plan that copies `root` and everything it reaches. `from`
   * and `threads` are the template's execution and threads (the copy gets
   * the new ones, by position); `shared` objects are immutable and kept
   * as they are; `typedCopy` copies typed arrays. The template must not
   * change afterwards.
   */
  static compile<R extends object>(root: R, from: Execution, threads: readonly SimThread[], shared: readonly object[], typedCopy: TypedCopy = sliceCopy): CopyPlan<R> {
    const c = new PlanCompiler(from, threads, shared);
    if (c.ref(root) !== 'O[0]') throw new SnapshotRefused('the root is not an object to copy');
    const statements = [...c.allocs, ...c.fills];
    const chunks: Chunk[] = [];
    for (let i = 0; i < statements.length; i += CHUNK) {
      // Compiled once per plan (see the file comment); the text is built from the template's field names and indexes.
      chunks.push(new Function('O', 'ex', 'th', 'C', 'M', 'T', 'A', 'S', 'V', `"use strict";\n${statements.slice(i, i + CHUNK).join('\n')}`) as Chunk);
    }
    return new CopyPlan<R>(chunks, c.ctors, c.makers, c.typed, typedCopy, shared, c.values, c.count);
  }

  /** A copy of the root for execution `ex`, whose threads stand for the template's, position by position. */
  copy(ex: Execution, threads: readonly SimThread[]): R {
    const O: unknown[] = new Array(this.objects);
    for (const f of this.chunks) f(O, ex, threads, this.ctors, this.makers, this.typed, this.typedCopy, this.shared, this.values);
    return O[0] as R;
  }
}

class PlanCompiler {
  readonly allocs: string[] = [];
  readonly fills: string[] = [];
  readonly ctors: (new () => object)[] = [];
  readonly makers: CopyRecipe['make'][] = [];
  readonly typed: ArrayBufferView[] = [];
  readonly values: unknown[] = [];
  count = 0;
  private readonly names = new Map<object, string>();

  constructor(from: Execution, threads: readonly SimThread[], shared: readonly object[]) {
    this.names.set(from, 'ex');
    threads.forEach((t, i) => this.names.set(t, `th[${i}]`));
    shared.forEach((o, i) => this.names.set(o, `S[${i}]`));
  }

  /** An expression for value `v` in the copy. */
  ref(v: unknown): string {
    switch (typeof v) {
      case 'undefined':
        return 'undefined';
      case 'boolean':
        return v ? 'true' : 'false';
      case 'number':
        return Number.isInteger(v) && !Object.is(v, -0) && Math.abs(v) < 2 ** 31 ? String(v) : this.value(v);
      case 'string':
        return this.value(v);
      case 'bigint':
        return `${v}n`;
      case 'function':
        throw new SnapshotRefused(`a function (${(v as { name?: string }).name || 'anonymous'}) in the state`);
      case 'symbol':
        throw new SnapshotRefused('a symbol in the state');
      case 'object':
        return v === null ? 'null' : this.object(v);
    }
  }

  private value(v: unknown): string {
    this.values.push(v);
    return `V[${this.values.length - 1}]`;
  }

  private object(o: object): string {
    const known = this.names.get(o);
    if (known !== undefined) return known;
    const name = `O[${this.count++}]`;
    this.names.set(o, name);
    if (CLONE in o) {
      const recipe = (o as SelfCopying)[CLONE]();
      this.makers.push(recipe.make);
      this.allocs.push(`${name} = M[${this.makers.length - 1}](ex);`);
      const src = o as Record<string, unknown>;
      for (const f of recipe.fields) this.fills.push(`${name}[${JSON.stringify(f)}] = ${this.ref(src[f])};`);
      return name;
    }
    if (Array.isArray(o)) {
      this.allocs.push(`${name} = [];`);
      for (let i = 0; i < o.length; i += 64) {
        const part: string[] = [];
        for (let j = i; j < Math.min(o.length, i + 64); j++) {
          if (!(j in o)) throw new SnapshotRefused('a sparse array in the state');
          part.push(this.ref(o[j]));
        }
        this.fills.push(`${name}.push(${part.join(', ')});`);
      }
      return name;
    }
    if (o instanceof Map) {
      this.allocs.push(`${name} = new Map();`);
      for (const [k, x] of o) this.fills.push(`${name}.set(${this.ref(k)}, ${this.ref(x)});`);
      return name;
    }
    if (o instanceof Set) {
      this.allocs.push(`${name} = new Set();`);
      for (const x of o) this.fills.push(`${name}.add(${this.ref(x)});`);
      return name;
    }
    if (ArrayBuffer.isView(o)) {
      if (o instanceof DataView) throw new SnapshotRefused('a DataView in the state');
      this.typed.push(o);
      this.allocs.push(`${name} = A(T[${this.typed.length - 1}]);`);
      return name;
    }
    const proto = Object.getPrototypeOf(o) as object | null;
    if (proto !== null && (proto === GENERATOR_PROTO || Object.getPrototypeOf(proto) === GENERATOR_PROTO)) {
      throw new SnapshotRefused('a generator in the state');
    }
    if (proto === null) throw new SnapshotRefused('an object without a prototype in the state');
    const keys = Object.keys(o);
    if (Object.getOwnPropertyNames(o).length !== keys.length || Object.getOwnPropertySymbols(o).length > 0) {
      throw new SnapshotRefused(`an object with hidden properties in the state (${o.constructor?.name ?? 'object'})`);
    }
    this.ctors.push(shapeOf(proto, keys));
    this.allocs.push(`${name} = new C[${this.ctors.length - 1}]();`);
    const src = o as Record<string, unknown>;
    for (const k of keys) {
      const d = Object.getOwnPropertyDescriptor(o, k)!;
      if (d.get !== undefined || d.set !== undefined) throw new SnapshotRefused(`an accessor property ${k} in the state`);
      this.fills.push(`${name}[${JSON.stringify(k)}] = ${this.ref(src[k])};`);
    }
    return name;
  }
}
