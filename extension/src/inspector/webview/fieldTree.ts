// The decoded fields of the selected message (name, type, value, offset, size) under the hex view, when the
// channel has a schema (.sipc/channels.json). Selecting a field selects its bytes in the hex view; selecting bytes
// highlights the field they belong to. Problems (too short, unknown tag, bad enum...) are listed above the tree
// and marked on their fields.
import { fieldAtOffset, type WireDecoded, type WireField } from '../shared/decoded';
import { $ } from './markup';

/** Arrays with more items than this start collapsed. */
const EXPANDED_ARRAY_LIMIT = 16;

export interface FieldTreeActions {
  /** A field was chosen in the tree: select its bytes. */
  selectBytes(first: number, last: number): void;
  /** Escape: back to the list. */
  leave(): void;
  /** The plot button of a numeric field. */
  togglePlot(path: string): void;
  isPlotted(path: string): boolean;
  /** The column button of a field: show it in the list. */
  toggleColumn(path: string): void;
  isColumn(path: string): boolean;
}

export class FieldTree {
  private readonly pane = $('fieldPane');
  private readonly tree = $('fieldTree');
  private readonly info = $('schemaInfo');
  private decoded: WireDecoded | undefined;
  private readonly collapsed = new Set<string>();
  private selectedPath: string | undefined;
  private rows: Array<{ field: WireField; element: HTMLElement }> = [];
  private schemaText = '';

  constructor(private readonly actions: FieldTreeActions) {
    this.tree.addEventListener('click', (e) => {
      const row = e.target instanceof HTMLElement ? e.target.closest<HTMLElement>('.field-row') : null;
      if (!row) return;
      const entry = this.rows[Number(row.dataset.index)];
      if (!entry) return;
      if (e.target instanceof HTMLElement && e.target.classList.contains('twisty')) this.toggle(entry.field);
      else if (e.target instanceof HTMLElement && e.target.classList.contains('plot-toggle')) {
        this.actions.togglePlot(entry.field.path);
        this.render();
      } else if (e.target instanceof HTMLElement && e.target.classList.contains('column-toggle')) {
        this.actions.toggleColumn(entry.field.path);
        this.render();
      } else this.choose(entry.field);
    });
    this.tree.addEventListener('keydown', (e) => this.onKey(e));
  }

  /** What the channel's schema is (or why there is none); shown above the tree. */
  setSchema(description: string | undefined, source: string | undefined, error: string | undefined): void {
    this.schemaText = error ? `Schema error: ${error}` : description ? `Decoded as ${description}${source ? ` (${source})` : ''}` : '';
    this.info.classList.toggle('error', error !== undefined);
    this.render();
  }

  show(decoded: WireDecoded | undefined): void {
    const sameType = decoded && this.decoded && decoded.type === this.decoded.type;
    this.decoded = decoded;
    if (!sameType) {
      this.collapsed.clear();
      this.collapseLongArrays();
    }
    this.render();
  }

  /** The hex selection moved: highlight the field holding its first byte. */
  highlightByte(offset: number | undefined): void {
    if (!this.decoded) return;
    const field = offset === undefined ? undefined : fieldAtOffset(this.decoded.root, offset);
    this.selectedPath = field?.path;
    if (field) this.expandTo(field.path);
    this.render();
    this.revealSelected();
  }

  private choose(field: WireField): void {
    this.selectedPath = field.path;
    this.render();
    if (field.size > 0 && !field.unlocated) this.actions.selectBytes(field.offset, field.offset + field.size - 1);
  }

  private toggle(field: WireField): void {
    if (this.collapsed.has(field.path)) this.collapsed.delete(field.path);
    else this.collapsed.add(field.path);
    this.render();
  }

  private expandTo(path: string): void {
    for (const key of [...this.collapsed]) if (path.startsWith(key) && path !== key) this.collapsed.delete(key);
  }

  private revealSelected(): void {
    this.tree.querySelector('.field-row.selected')?.scrollIntoView({ block: 'nearest' });
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key === 'Escape') { this.actions.leave(); return; }
    if (this.rows.length === 0) return;
    const current = this.rows.findIndex((r) => r.field.path === this.selectedPath);
    const entry = this.rows[current];
    let next: number | undefined;
    if (e.key === 'ArrowDown') next = Math.min(this.rows.length - 1, current + 1);
    else if (e.key === 'ArrowUp') next = Math.max(0, current - 1);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = this.rows.length - 1;
    else if ((e.key === 'ArrowRight' || e.key === 'ArrowLeft' || e.key === 'Enter' || e.key === ' ') && entry?.field.children) {
      const open = !this.collapsed.has(entry.field.path);
      if (e.key === 'ArrowRight' ? !open : e.key === 'ArrowLeft' ? open : true) this.toggle(entry.field);
      e.preventDefault();
      return;
    }
    if (next === undefined) return;
    e.preventDefault();
    this.choose(this.rows[next].field);
    this.revealSelected();
  }

  private render(): void {
    const decoded = this.decoded;
    this.pane.hidden = this.schemaText === '';
    const problems = decoded?.problems ?? [];
    this.info.textContent = this.schemaText;
    const problemList = $('fieldProblems');
    problemList.textContent = '';
    for (const p of problems) {
      const li = document.createElement('li');
      li.textContent = `${p.code}: ${p.message}`;
      problemList.appendChild(li);
    }
    problemList.hidden = problems.length === 0;
    this.tree.textContent = '';
    this.rows = [];
    if (!decoded) return;
    const visit = (field: WireField, depth: number) => {
      this.addRow(field, depth);
      if (!field.children || this.collapsed.has(field.path)) return;
      for (const child of field.children) visit(child, depth + 1);
    };
    for (const child of decoded.root.children ?? [decoded.root]) visit(child, 0);
  }


  private addRow(field: WireField, depth: number): void {
    const row = document.createElement('div');
    row.className = 'field-row';
    row.setAttribute('role', 'treeitem');
    row.dataset.index = String(this.rows.length);
    row.dataset.path = field.path;
    if (field.path === this.selectedPath) row.classList.add('selected');
    if (field.problem) row.classList.add('problem');
    const name = document.createElement('span');
    name.className = 'f-name';
    name.style.paddingLeft = `${depth * 14}px`;
    const twisty = document.createElement('span');
    twisty.className = 'twisty codicon';
    if (field.children) {
      const open = !this.collapsed.has(field.path);
      twisty.classList.add(open ? 'codicon-chevron-down' : 'codicon-chevron-right');
      row.setAttribute('aria-expanded', String(open));
    }
    name.append(twisty, field.name);
    const numeric = !field.children && (typeof field.value === 'number' || typeof field.value === 'boolean' || field.big === true);
    if (numeric) {
      const plot = document.createElement('span');
      plot.className = 'plot-toggle codicon codicon-graph-line';
      plot.title = 'Plot this field over time';
      plot.classList.toggle('active', this.actions.isPlotted(field.path));
      name.appendChild(plot);
    }
    if (!field.children) {
      const column = document.createElement('span');
      column.className = 'column-toggle codicon codicon-list-flat';
      column.title = 'Show this field as a column of the list';
      column.classList.toggle('active', this.actions.isColumn(field.path));
      name.appendChild(column);
    }
    const cells: Array<[string, string]> = [
      ['f-type', field.bitWidth !== undefined ? `${field.type} : ${field.bitWidth}` : field.type],
      ['f-value', field.display],
      ['f-offset', field.unlocated ? '' : field.bitWidth !== undefined ? `${field.offset}.${field.bitOffset ?? 0}` : String(field.offset)],
      ['f-size', field.unlocated ? '' : field.bitWidth !== undefined ? `${field.bitWidth} bit${field.bitWidth === 1 ? '' : 's'}` : String(field.size)],
    ];
    row.appendChild(name);
    for (const [cls, text] of cells) {
      const cell = document.createElement('span');
      cell.className = cls;
      cell.textContent = text;
      row.appendChild(cell);
    }
    if (field.problem) row.title = field.problem;
    this.tree.appendChild(row);
    this.rows.push({ field, element: row });
  }

  /** Arrays longer than EXPANDED_ARRAY_LIMIT start collapsed (for each new message type). */
  private collapseLongArrays(): void {
    const visit = (f: WireField) => {
      if (f.children && f.children.length > EXPANDED_ARRAY_LIMIT && f.display.startsWith('[')) this.collapsed.add(f.path);
      f.children?.forEach(visit);
    };
    if (this.decoded) visit(this.decoded.root);
  }
}
