/**
 * `label(fn, action)`: the label `fn:action`, memoised so that a label built
 * from a function name at run time is the same string object every time
 * (cheap to hash for the feature map, no garbage per step).
 */
const memo = new Map<string, Map<string, string>>();

export function label(fn: string, action: string): string {
  let m = memo.get(fn);
  if (m === undefined) {
    m = new Map();
    memo.set(fn, m);
  }
  let l = m.get(action);
  if (l === undefined) {
    l = `${fn}:${action}`;
    m.set(action, l);
  }
  return l;
}
