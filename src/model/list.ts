import type { KObject, SimThread } from '../runtime';

/**
 * Kernel doubly linked lists (`struct list_head`), with the RCU variants and
 * CONFIG_DEBUG_LIST's checks. A node is embedded in its owner (a shadow page's
 * `link`) or is a list head owned by a struct or a stack frame. Every
 * operation is part of one step of the calling thread and checks its owners
 * for use-after-free.
 *
 * - `list_del_rcu` unlinks, keeps `next`, poisons `prev` (LIST_POISON2);
 * - `list_del` poisons both (LIST_POISON1 / LIST_POISON2);
 * - a zero-filled node (never added) has null pointers: `list_del` on it is
 *   a NULL dereference;
 * - a successor lookup reads the node's *current* `next`, wherever the node
 *   now is (on another list, or unlinked).
 */
export class ListNode {
  next: ListNode | null = null;
  prev: ListNode | null = null;

  /** `head` is true for list heads (not embedded in an entry). */
  constructor(readonly owner: KObject | null, readonly head: boolean, readonly name: string) {}

  /** A list head pointing to itself (`LIST_HEAD_INIT`). */
  static head(owner: KObject | null, name: string): ListNode {
    const h = new ListNode(owner, true, name);
    h.next = h;
    h.prev = h;
    return h;
  }
}

/** The kernel's poison values (dereferencing them faults). */
export const LIST_POISON1 = new ListNode(null, true, 'LIST_POISON1');
export const LIST_POISON2 = new ListNode(null, true, 'LIST_POISON2');

function isPoison(n: ListNode | null): boolean {
  return n === LIST_POISON1 || n === LIST_POISON2;
}

function check(t: SimThread, n: ListNode, what: string): void {
  if (n.owner !== null) t.touch(n.owner, what);
}

function deref(t: SimThread, n: ListNode | null, what: string): ListNode {
  if (n === null) {
    return t.ex.fail('NULL', t.fn, `NULL pointer dereference of ${what}`, `${t.name} follows a NULL list pointer (${what}) at ${t.label}`);
  }
  if (isPoison(n)) {
    return t.ex.fail('BUG', t.fn, `dereference of ${n.name} (${what})`,
      `${t.name} follows a poisoned list pointer (${what} = ${n.name}) at ${t.label}: general protection fault`);
  }
  check(t, n, `list access (${what})`);
  return n;
}

/** `__list_add` between prev and next, with `__list_add_valid`'s checks. */
function add(t: SimThread, node: ListNode, prev: ListNode, next: ListNode): void {
  if (next.prev !== prev || prev.next !== next) {
    t.ex.fail('BUG', t.fn, 'list_add corruption', `${t.name} adds ${node.name} between ${prev.name} and ${next.name}, which are not adjacent`);
  }
  if (node === prev || node === next) t.ex.fail('BUG', t.fn, 'list_add double add', `${t.name} adds ${node.name} next to itself`);
  check(t, node, 'list_add');
  next.prev = node;
  node.next = next;
  node.prev = prev;
  prev.next = node;
  if (t.ex.tracing) t.note(`list_add ${node.name} after ${prev.name}`);
}

/** `list_add` / `list_add_rcu`: insert at the head. */
export function listAdd(t: SimThread, node: ListNode, head: ListNode): void {
  const h = deref(t, head, 'head');
  add(t, node, h, deref(t, h.next, 'head->next'));
}

/** `list_add_tail`. */
export function listAddTail(t: SimThread, node: ListNode, head: ListNode): void {
  const h = deref(t, head, 'head');
  add(t, node, deref(t, h.prev, 'head->prev'), h);
}

/** `__list_del_entry` with `__list_del_entry_valid`'s checks; returns nothing, leaves node's pointers. */
function unlink(t: SimThread, node: ListNode, op: string): void {
  check(t, node, op);
  if (node.next === LIST_POISON1 || node.prev === LIST_POISON2) {
    t.ex.fail('BUG', t.fn, `${op} corruption: entry already deleted`,
      `${t.name} ${op}s ${node.name} whose pointers are poisoned (next=${node.next?.name}, prev=${node.prev?.name})`);
  }
  const next = deref(t, node.next, `${node.name}->next`);
  const prev = deref(t, node.prev, `${node.name}->prev`);
  if (prev.next !== node || next.prev !== node) {
    t.ex.fail('BUG', t.fn, `${op} corruption: neighbours do not point back`,
      `${t.name} ${op}s ${node.name}: prev ${prev.name}->next is ${prev.next?.name}, next ${next.name}->prev is ${next.prev?.name}`);
  }
  next.prev = prev;
  prev.next = next;
}

/** `list_del_rcu`: unlink; keep `next` for concurrent RCU readers; poison `prev`. */
export function listDelRcu(t: SimThread, node: ListNode): void {
  unlink(t, node, 'list_del_rcu');
  node.prev = LIST_POISON2;
  if (t.ex.tracing) t.note(`list_del_rcu ${node.name}`);
}

/** `list_del`: unlink and poison both pointers. */
export function listDel(t: SimThread, node: ListNode): void {
  unlink(t, node, 'list_del');
  node.next = LIST_POISON1;
  node.prev = LIST_POISON2;
  if (t.ex.tracing) t.note(`list_del ${node.name}`);
}

/** `list_move_tail`: unlink (valid checks) and append to `head`. */
export function listMoveTail(t: SimThread, node: ListNode, head: ListNode): void {
  unlink(t, node, 'list_move_tail');
  listAddTail(t, node, head);
}

/** `list_empty`. */
export function listEmpty(t: SimThread, head: ListNode): boolean {
  return deref(t, head, 'head').next === head;
}

/**
 * The node after `node` as seen now (`node->next`), or null when that is
 * `head` (`list_next_or_null_rcu`, `list_first_or_null_rcu` with node = head).
 * Faults on poisoned or NULL pointers.
 */
export function listNextOrNull(t: SimThread, head: ListNode, node: ListNode): ListNode | null {
  const n = deref(t, deref(t, node, 'node').next, `${node.name}->next`);
  return n === head ? null : n;
}

/** Entries of a list, in order, read in one go (for oracles and write-locked walks). */
export function listEntries(head: ListNode): ListNode[] {
  const out: ListNode[] = [];
  let n = head.next;
  let guard = 0;
  while (n !== null && n !== head && !isPoison(n) && guard++ < 100_000) {
    out.push(n);
    n = n.next;
  }
  return out;
}

/** Is `node` currently linked into the list at `head`? (oracle helper, no step) */
export function onList(head: ListNode, node: ListNode): boolean {
  return listEntries(head).includes(node);
}
