import type { Execution } from './execution';

/**
 * Base class of every model object that can be freed (shadow pages, memslot
 * arrays, rmap arrays, guest pages, list heads on a stack frame). Freeing
 * poisons the object: any later access through a thread's memory operations
 * is a use-after-free failure naming the access site and the free site.
 *
 * Objects live in one execution and get ids from it in creation order, so
 * names are identical from run to run (Loom's per-execution store).
 */
export class KObject {
  /** Execution-local id, in creation order. */
  readonly oid: number;
  /** Printable name, e.g. `sp#3` or `root R1`. */
  name: string;
  /** Label of the step that freed the object, or null while it is live. */
  freedBy: string | null = null;
  /** Step index and thread name of the free. */
  freedStep = -1;
  freedThread = '';

  constructor(ex: Execution, readonly kind: string, name?: string) {
    this.oid = ex.newObjectId();
    this.name = name ?? `${kind}#${this.oid}`;
  }

  get freed(): boolean {
    return this.freedBy !== null;
  }

  /** How a field's value is printed in traces (null: the default form). */
  showField(_field: string, _value: unknown): string | null {
    return null;
  }
}
