// The list's decoded columns: fields the user picked in the field tree, one column each (header: the field's path),
// the value as the field tree shows it on every row ('—' where a message has no such field; the host decodes the
// rows it sends). Each column is resizable like the fixed ones (a width per path, kept in the page state) and
// shrinks before Preview does. Kept in the page state; asked for again when the schema (re)loads.
import { MAX_PLOTTED_FIELDS } from '../shared/protocol';
import { addResizer } from './columns';
import { host } from './host';
import { $ } from './markup';
import { persist, state } from './state';

/** Default width of a decoded column. */
const FIELD_WIDTH = '8em';

/** The CSS width of decoded column `index`: a variable on the list, so header and rows follow one drag. */
const widthOf = (index: number): string => `var(--col-field-${index}, ${FIELD_WIDTH})`;

/** Fills a row's decoded cells (its `.c-fields` container) with one cell per shown column. */
export function fillFieldCells(container: Element, values: readonly string[] | undefined): void {
  const count = state.columnPaths?.length ?? 0;
  while (container.children.length > count) container.lastElementChild?.remove();
  while (container.children.length < count) {
    const cell = document.createElement('span');
    cell.className = 'c-field';
    cell.style.width = widthOf(container.children.length);
    container.appendChild(cell);
  }
  for (let i = 0; i < count; i++) container.children[i].textContent = values?.[i] ?? '';
}

export class FieldColumns {
  private readonly list = $('listHeader').parentElement as HTMLElement;

  get shown(): readonly string[] {
    return state.columnPaths ?? [];
  }

  toggle(path: string): void {
    const current = this.shown;
    void this.set(current.includes(path) ? current.filter((p) => p !== path) : [...current, path].slice(-MAX_PLOTTED_FIELDS));
  }

  /** Asks the host to add these fields to the rows (none: no columns). */
  async set(paths: readonly string[]): Promise<void> {
    state.columnPaths = [...paths];
    persist();
    const reply = await host.request({ type: 'columns', paths: [...paths] });
    const showing = paths.length > 0 && reply.error === undefined;
    this.list.classList.toggle('with-fields', showing);
    this.renderHeader(showing ? paths : []);
  }

  private renderHeader(paths: readonly string[]): void {
    const header = $('fieldsHeader');
    header.replaceChildren();
    paths.forEach((path, index) => {
      const cell = document.createElement('span');
      cell.className = 'c-field';
      cell.dataset.path = path;
      cell.style.width = widthOf(index);
      cell.textContent = path;
      cell.title = path;
      addResizer(cell, (width) => this.resize(path, index, width));
      header.appendChild(cell);
      this.apply(index, state.fieldWidths[path]);
    });
    // Widths of columns no longer shown (a removed field) must not stay on the index that now holds another.
    for (let index = paths.length; index < MAX_PLOTTED_FIELDS; index++) this.apply(index, undefined);
  }

  private resize(path: string, index: number, width: number | undefined): void {
    if (width === undefined) delete state.fieldWidths[path];
    else state.fieldWidths[path] = width;
    persist();
    this.apply(index, width);
  }

  private apply(index: number, width: number | undefined): void {
    if (width === undefined) this.list.style.removeProperty(`--col-field-${index}`);
    else this.list.style.setProperty(`--col-field-${index}`, `${width}px`);
  }
}
