import type { Execution } from './execution';
import type { SimThread } from './thread';

/**
 * Set-up snapshots: a harness whose executions all start with the same
 * serial prelude runs it once in a template execution, and starts each later
 * execution from a copy of the state it left (Execution.captureSetup /
 * restoreSetup copy the execution's own bookkeeping; a CopyPlan copies the
 * model's objects).
 *
 * A CopyPlan is compiled once from the template's object graph into one
 * function that rebuilds the graph: every object allocated, then every field
 * stored by name, in the template's property order. So each copy costs a
 * few microseconds, and the copies share hidden classes and stay in V8's
 * fast-property mode (a generic copy — Object.create and a keyed store per
 * field — put objects of 20+ fields in dictionary mode, which made every
 * later step 70% slower, and itself cost more than the prelude it replaced).
 *
 * The copy keeps prototypes (class instances stay instances of their class),
 * copies arrays, Maps, Sets and typed arrays, keeps shared structure and
 * cycles, and maps the template's Execution and threads to the new ones.
 * Compiling refuses (SnapshotRefused) what it cannot copy faithfully: a
 * function (a closure captures the template's objects), a generator, a
 * thread or execution it was not given (they refuse through CLONE), a
 * property it cannot see. Classes that keep closures over themselves (lock
 * blockers, the RCU actor's blocker) say through CLONE how to make a fresh
 * instance and which fields to copy into it.
 */
export const CLONE: unique symbol = Symbol('mmufuzz.clone');

/** How to copy an instance of a class that holds closures: a fresh instance for the new execution, then these fields copied. */
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

type Builder = (ex: Execution, th: readonly SimThread[], P: readonly object[], M: readonly CopyRecipe['make'][], T: readonly ArrayBufferView[], A: TypedCopy, S: readonly object[], V: readonly unknown[]) => unknown;

export class CopyPlan<R> {
  private constructor(
    private readonly build: Builder,
    private readonly protos: readonly object[],
    private readonly makers: readonly CopyRecipe['make'][],
    private readonly typed: readonly ArrayBufferView[],
    private readonly typedCopy: TypedCopy,
    private readonly shared: readonly object[],
    private readonly values: readonly unknown[],
    /** Objects copied per build (for reports and tests). */
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
    const top = c.ref(root);
    const code = `"use strict";\n${c.decls.join('\n')}\n${c.fills.join('\n')}\nreturn ${top};`;
    // One function per template, compiled by V8 once (see the file comment); its text is built from the template's own field names.
    const build = new Function('ex', 'th', 'P', 'M', 'T', 'A', 'S', 'V', code) as Builder;
    return new CopyPlan<R>(build, c.protos, c.makers, c.typed, typedCopy, shared, c.values, c.count);
  }

  /** A copy of the root for execution `ex`, whose threads stand for the template's, position by position. */
  copy(ex: Execution, threads: readonly SimThread[]): R {
    return this.build(ex, threads, this.protos, this.makers, this.typed, this.typedCopy, this.shared, this.values) as R;
  }
}

class PlanCompiler {
  readonly decls: string[] = [];
  readonly fills: string[] = [];
  readonly protos: object[] = [];
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
    const name = `o${this.count++}`;
    this.names.set(o, name);
    if (CLONE in o) {
      const recipe = (o as SelfCopying)[CLONE]();
      this.makers.push(recipe.make);
      this.decls.push(`const ${name} = M[${this.makers.length - 1}](ex);`);
      const src = o as Record<string, unknown>;
      for (const f of recipe.fields) this.fills.push(`${name}[${JSON.stringify(f)}] = ${this.ref(src[f])};`);
      return name;
    }
    if (Array.isArray(o)) {
      this.decls.push(`const ${name} = [];`);
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
      this.decls.push(`const ${name} = new Map();`);
      for (const [k, x] of o) this.fills.push(`${name}.set(${this.ref(k)}, ${this.ref(x)});`);
      return name;
    }
    if (o instanceof Set) {
      this.decls.push(`const ${name} = new Set();`);
      for (const x of o) this.fills.push(`${name}.add(${this.ref(x)});`);
      return name;
    }
    if (ArrayBuffer.isView(o)) {
      if (o instanceof DataView) throw new SnapshotRefused('a DataView in the state');
      this.typed.push(o);
      this.decls.push(`const ${name} = A(T[${this.typed.length - 1}]);`);
      return name;
    }
    const proto = Object.getPrototypeOf(o) as object | null;
    if (proto !== null && (proto === GENERATOR_PROTO || Object.getPrototypeOf(proto) === GENERATOR_PROTO)) {
      throw new SnapshotRefused('a generator in the state');
    }
    const keys = Object.keys(o);
    if (Object.getOwnPropertyNames(o).length !== keys.length || Object.getOwnPropertySymbols(o).length > 0) {
      throw new SnapshotRefused(`an object with hidden properties in the state (${o.constructor?.name ?? 'object'})`);
    }
    if (proto === Object.prototype) {
      this.decls.push(`const ${name} = {};`);
    } else {
      this.protos.push(proto ?? Object.create(null));
      this.decls.push(proto === null ? `const ${name} = Object.create(null);` : `const ${name} = Object.create(P[${this.protos.length - 1}]);`);
    }
    const src = o as Record<string, unknown>;
    for (const k of keys) {
      const d = Object.getOwnPropertyDescriptor(o, k)!;
      if (d.get !== undefined || d.set !== undefined) throw new SnapshotRefused(`an accessor property ${k} in the state`);
      this.fills.push(`${name}[${JSON.stringify(k)}] = ${this.ref(src[k])};`);
    }
    return name;
  }
}
