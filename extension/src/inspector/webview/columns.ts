// Resizable list columns: a handle at the right edge of each header cell but Preview's; dragging it sets the
// column's width (a CSS variable on the list, so header and rows follow), a double click restores the default.
// Widths survive reload in the webview state. Preview takes what is left and shrinks last (inspector.css).
// The decoded field columns (fieldColumns.ts) use the same handle.
import { $ } from './markup';
import { persist, RESIZABLE_COLUMNS, state, type ResizableColumn } from './state';

const MIN_WIDTH_PX = 24;
const MAX_WIDTH_PX = 600;

function isResizable(value: string | undefined): value is ResizableColumn {
  return (RESIZABLE_COLUMNS as readonly string[]).includes(value ?? '');
}

/**
 * Adds a drag handle to a header cell: dragging calls `set` with the new width in pixels (clamped), a double click
 * with undefined (the default width).
 */
export function addResizer(cell: HTMLElement, set: (width: number | undefined) => void): void {
  const handle = document.createElement('span');
  handle.className = 'resizer';
  handle.title = 'Drag to resize; double-click for the default width';
  handle.addEventListener('pointerdown', (start) => {
    start.preventDefault();
    handle.setPointerCapture(start.pointerId);
    const startWidth = cell.getBoundingClientRect().width;
    const move = (e: PointerEvent): void => set(Math.round(Math.min(MAX_WIDTH_PX, Math.max(MIN_WIDTH_PX, startWidth + e.clientX - start.clientX))));
    const end = (): void => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', end);
      handle.removeEventListener('pointercancel', end);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', end);
    handle.addEventListener('pointercancel', end);
  });
  handle.addEventListener('dblclick', () => set(undefined));
  cell.appendChild(handle);
}

export class Columns {
  private readonly list = $('listHeader').parentElement as HTMLElement;

  constructor() {
    for (const column of RESIZABLE_COLUMNS) this.apply(column, state.columns[column]);
    for (const cell of $('listHeader').querySelectorAll<HTMLElement>('[data-column]')) {
      const column = cell.dataset.column;
      if (!isResizable(column)) continue;
      addResizer(cell, (width) => this.set(column, width));
    }
  }

  private set(column: ResizableColumn, width: number | undefined): void {
    if (width === undefined) delete state.columns[column];
    else state.columns[column] = width;
    persist();
    this.apply(column, width);
  }

  private apply(column: ResizableColumn, width: number | undefined): void {
    if (width === undefined) this.list.style.removeProperty(`--col-${column}`);
    else this.list.style.setProperty(`--col-${column}`, `${width}px`);
  }
}
