/**
 * Yield labels. Every preemption point carries a label `function:action`,
 * e.g. `mark_unsync:sp.unsync_children.load`: the kernel function the step
 * belongs to, a colon, then the shared field or lock touched and how. The
 * function part is the "site" used in signatures.
 */

/** The kernel-function part of a label (the whole label if it has no colon). */
export function labelFunction(label: string): string {
  const i = label.indexOf(':');
  return i < 0 ? label : label.slice(0, i);
}

/** The action part of a label ('' if it has no colon). */
export function labelAction(label: string): string {
  const i = label.indexOf(':');
  return i < 0 ? '' : label.slice(i + 1);
}
