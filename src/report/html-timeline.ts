import { formatFailure } from '../runtime/failure';
import type { Outcome } from '../runtime/execution';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * A standalone timeline page for a traced outcome: one column per thread,
 * one row per step (kernel function and action, fields touched, locks held),
 * the oracle's message at the end. No external resources; every string from
 * the input is escaped.
 */
export function renderHtmlTimeline(outcome: Outcome, title: string, header: readonly [string, string][] = []): string {
  const trace = outcome.trace;
  if (trace === null) throw new Error('renderHtmlTimeline needs an outcome recorded with trace: true');
  const n = outcome.threads.length;
  const rows = trace.map((e) => {
    const cells = new Array<string>(n).fill('<td></td>');
    const colon = e.label.indexOf(':');
    const fn = colon < 0 ? e.label : e.label.slice(0, colon);
    const action = colon < 0 ? '' : e.label.slice(colon + 1);
    cells[e.thread] = `<td class="on"><span class="fn">${escapeHtml(fn)}</span><span class="act">${escapeHtml(action)}</span>`
      + (e.detail === '' ? '' : `<div class="detail">${escapeHtml(e.detail)}</div>`)
      + (e.locks === '' ? '' : `<div class="locks">${escapeHtml(e.locks)}</div>`) + '</td>';
    return `<tr><th>${e.step}</th>${cells.join('')}</tr>`;
  });
  const verdict = outcome.failure === null ? `clean: ${outcome.steps} steps` : formatFailure(outcome.failure);
  const meta = header.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1em;color:#222}
table.timeline{border-collapse:collapse;font-size:12px}
table.timeline th,table.timeline td{border:1px solid #ddd;padding:2px 6px;vertical-align:top}
table.timeline thead th{position:sticky;top:0;background:#f4f4f4}
td.on{background:#eef5ff}
.fn{font-weight:600;margin-right:.4em}
.act{font-family:monospace}
.detail{font-family:monospace;color:#555}
.locks{font-family:monospace;color:#8a5a00}
pre.verdict{background:#fff0f0;border:1px solid #e99;padding:.6em;white-space:pre-wrap}
table.meta th{text-align:left;padding-right:1em}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<table class="meta">${meta}</table>
<pre class="verdict" id="verdict">${escapeHtml(verdict)}</pre>
<table class="timeline"><thead><tr><th>step</th>${outcome.threads.map((t) => `<th class="thread">${escapeHtml(t)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
<pre class="verdict">${escapeHtml(verdict)}</pre>
</body></html>
`;
}
