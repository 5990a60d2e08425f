/**
 * Labels built at run time, memoised so that the same label is the same
 * string object every time: no garbage per step, and the feature map's
 * string hash is computed once per label (V8 caches it in the string).
 * The keys are constants of the model (function, lock and callee names,
 * request bits), so the memo stays small; a template string built on every
 * call would be a new string to hash on every step.
 */
const actions = new Map<string, Map<string, string>>();
const calls = new Map<string, Map<string, Map<string | number, string>>>();
const members = new Map<string, Map<string, Map<string, string>>>();

/** The label `fn:action`. */
export function label(fn: string, action: string): string {
  const m = submap(actions, fn);
  let l = m.get(action);
  if (l === undefined) m.set(action, (l = `${fn}:${action}`));
  return l;
}

/** The label `fn:callee(arg)`, e.g. `vcpu_enter_guest:vm_exit(kick)`; `show` renders a numeric `arg` (once per value). */
export function callLabel(fn: string, callee: string, arg: string | number, show?: (arg: number) => string): string {
  const m = submap(submap(calls, fn), callee);
  let l = m.get(arg);
  if (l === undefined) m.set(arg, (l = `${fn}:${callee}(${typeof arg === 'number' && show !== undefined ? show(arg) : String(arg)})`));
  return l;
}

/** The label `fn:object.op`, e.g. `kvm_mmu_page_fault:mmu_lock.read_lock`. */
export function memberLabel(fn: string, object: string, op: string): string {
  const m = submap(submap(members, fn), object);
  let l = m.get(op);
  if (l === undefined) m.set(op, (l = `${fn}:${object}.${op}`));
  return l;
}

/** The map under key `k` of `m`, created empty on first use. */
function submap<K, V extends Map<unknown, unknown>>(m: Map<K, V>, k: K): V {
  let v = m.get(k);
  if (v === undefined) m.set(k, (v = new Map() as V));
  return v;
}

/**
 * The labels an object (a lock, an SRCU domain) uses at one call site, made
 * once per (object name, kernel function) for the whole process: model
 * objects are made anew for every execution, and building their labels
 * again on each execution's first use of a site (three map lookups per
 * label) and their blockers' closures measured a tenth of an execution's
 * time or more.
 */
export class SiteLabels<T> {
  private readonly byName = new Map<string, Map<string, T>>();

  constructor(private readonly make: (fn: string, name: string) => T) {}

  /** The labels of object `name` in kernel function `fn`. */
  get(name: string, fn: string): T {
    const byFn = submap(this.byName, name);
    let s = byFn.get(fn);
    if (s === undefined) byFn.set(fn, (s = this.make(fn, name)));
    return s;
  }
}
