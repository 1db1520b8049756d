// A virtual table: only the rows in view (plus a few) exist in the DOM, positioned with transforms inside a
// sizer as tall as all rows. setItems() swaps the data; the visible rows are re-bound in place (no full
// re-render, no layout of 10,000 rows). ARIA table semantics with aria-rowcount/aria-rowindex.

import { h } from './dom.js';

export class VirtualTable {
  /**
   * columns: [{key, label, width, sortable, render(cell, item)}]; rowHeight px; onSort(key);
   * rowKey(item) for stable selection; label for the table.
   */
  constructor({ columns, rowHeight = 34, label, empty = 'Nothing to show.', onSort = null, height = '480px', onRowClick = null }) {
    this.columns = columns;
    this.rowHeight = rowHeight;
    this.items = [];
    this.onSort = onSort;
    this.onRowClick = onRowClick;
    this.sort = { key: null, dir: 1 };
    this.rows = [];
    const cols = columns.map((c) => c.width ?? '1fr').join(' ');
    this.head = h('div.vt-head', { role: 'row', 'aria-rowindex': 1 });
    for (const c of columns) {
      const cell = h('div', { role: 'columnheader', dataset: { key: c.key } });
      if (c.sortable && onSort) cell.append(h('button', { type: 'button', text: c.label, on: { click: () => onSort(c.key) } }));
      else cell.textContent = c.label;
      this.head.append(cell);
    }
    this.sizer = h('div.vt-sizer');
    // A row of its own, so that an empty table is still a table of rows (ARIA: a row group holds rows).
    this.emptyEl = h('div.vt-empty', { role: 'row', hidden: true }, h('div', { role: 'cell', text: empty }));
    this.body = h('div.vt-body', { role: 'rowgroup', tabindex: 0, 'aria-label': `${label}, scrollable` }, this.sizer, this.emptyEl);
    this.foot = h('div.vt-foot', { 'aria-live': 'polite' });
    // The live footer sits beside the table, not in it (a table holds only row groups and rows: ARIA 1.2).
    this.table = h('div', { role: 'table', 'aria-label': label, 'aria-rowcount': 1 }, h('div', { role: 'rowgroup' }, this.head), this.body);
    this.el = h('div.vt', { style: { '--cols': cols, '--row-h': `${rowHeight}px`, '--vt-h': height } }, this.table, this.foot);
    this.body.addEventListener('scroll', () => this.#schedule(), { passive: true });
    new ResizeObserver(() => this.#schedule()).observe(this.body);
    this.raf = 0;
  }

  setSort(key, dir) {
    this.sort = { key, dir };
    for (const cell of this.head.children) {
      if (cell.dataset.key === key) cell.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
      else cell.removeAttribute('aria-sort');
    }
  }

  setItems(items) {
    this.items = items;
    this.table.setAttribute('aria-rowcount', String(items.length + 1));
    this.sizer.style.height = `${items.length * this.rowHeight}px`;
    this.emptyEl.hidden = items.length > 0;
    this.render();
  }

  #schedule() {
    this.raf ||= requestAnimationFrame(() => {
      this.raf = 0;
      this.render();
    });
  }

  /** Binds the visible window; rows are reused, cells rewritten only where their text changed. */
  render() {
    const top = this.body.scrollTop;
    const height = this.body.clientHeight || 480;
    const first = Math.max(0, Math.floor(top / this.rowHeight) - 4);
    const last = Math.min(this.items.length, Math.ceil((top + height) / this.rowHeight) + 4);
    const need = last - first;
    while (this.rows.length < need) {
      const row = h('div.vt-row', { role: 'row' });
      for (const c of this.columns) row.append(h('div', { role: 'cell', dataset: { key: c.key } }));
      if (this.onRowClick) row.addEventListener('click', (event) => row._item && this.onRowClick(row._item, event));
      this.sizer.append(row);
      this.rows.push(row);
    }
    for (let i = 0; i < this.rows.length; i++) {
      const row = this.rows[i];
      const index = first + i;
      if (index >= last) {
        if (!row.hidden) row.hidden = true;
        row._item = null;
        continue;
      }
      row.hidden = false;
      const item = this.items[index];
      if (row._index !== index) {
        row.style.transform = `translateY(${index * this.rowHeight}px)`;
        row.setAttribute('aria-rowindex', String(index + 2));
        row._index = index;
        row.classList.toggle('alt', index % 2 === 1);
      }
      row._item = item;
      this.bindRow?.(row, item);
      for (let c = 0; c < this.columns.length; c++) this.columns[c].render(row.children[c], item);
    }
  }
}

/** Sets textContent only when it changed (keeps the DOM quiet on live updates). */
export function setText(el, text) {
  const value = text ?? '';
  if (el.textContent !== value) el.textContent = value;
}

/** A cell's badge (`<span class="badge cls">text</span>`), created once and updated only where it changed. */
export function setBadge(cell, cls, text) {
  let b = cell.firstChild;
  if (b === null) cell.append((b = h('span')));
  const className = `badge ${cls}`;
  if (b.className !== className) b.className = className;
  setText(b, text);
}
