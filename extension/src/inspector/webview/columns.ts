// Resizable list columns: a handle at the right edge of each header cell but Preview's; dragging it sets the
// column's width (a CSS variable on the list, so header and rows follow), a double click restores the default.
// Widths survive reload in the webview state. Preview takes what is left and shrinks last (inspector.css).
import { $ } from './markup';
import { persist, RESIZABLE_COLUMNS, state, type ResizableColumn } from './state';

const MIN_WIDTH_PX = 24;
const MAX_WIDTH_PX = 600;

function isResizable(value: string | undefined): value is ResizableColumn {
  return (RESIZABLE_COLUMNS as readonly string[]).includes(value ?? '');
}

export class Columns {
  private readonly list = $('listHeader').parentElement as HTMLElement;

  constructor() {
    for (const column of RESIZABLE_COLUMNS) this.apply(column, state.columns[column]);
    for (const cell of $('listHeader').querySelectorAll<HTMLElement>('[data-column]')) {
      const column = cell.dataset.column;
      if (!isResizable(column)) continue;
      const handle = document.createElement('span');
      handle.className = 'resizer';
      handle.title = 'Drag to resize; double-click for the default width';
      handle.addEventListener('pointerdown', (e) => this.drag(e, handle, cell, column));
      handle.addEventListener('dblclick', () => this.set(column, undefined));
      cell.appendChild(handle);
    }
  }

  private drag(start: PointerEvent, handle: HTMLElement, cell: HTMLElement, column: ResizableColumn): void {
    start.preventDefault();
    handle.setPointerCapture(start.pointerId);
    const startWidth = cell.getBoundingClientRect().width;
    const move = (e: PointerEvent): void => this.set(column, startWidth + e.clientX - start.clientX);
    const end = (): void => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', end);
      handle.removeEventListener('pointercancel', end);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', end);
    handle.addEventListener('pointercancel', end);
  }

  private set(column: ResizableColumn, width: number | undefined): void {
    const clamped = width === undefined ? undefined : Math.round(Math.min(MAX_WIDTH_PX, Math.max(MIN_WIDTH_PX, width)));
    if (clamped === undefined) delete state.columns[column];
    else state.columns[column] = clamped;
    persist();
    this.apply(column, clamped);
  }

  private apply(column: ResizableColumn, width: number | undefined): void {
    if (width === undefined) this.list.style.removeProperty(`--col-${column}`);
    else this.list.style.setProperty(`--col-${column}`, `${width}px`);
  }
}
