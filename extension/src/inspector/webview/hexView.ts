// The hex view of the selected message: offset, hex and ASCII columns, virtualised by line, with one byte selection
// shared by both columns (mouse drag, Shift+arrows) and the selection info line under it.
import { asciiChar, byteHex } from '../shared/bytes';
import { $ } from './markup';
import { VirtualList } from './virtualList';

const HEX_LINE_HEIGHT = 20;
const BYTES_PER_LINE = 16;

export interface HexViewActions {
  /** Escape: back to the list. */
  leave(): void;
  /** Ctrl+C: copy the selection as hex. */
  copyHex(): void;
  /** The user moved the selection (mouse or keys): its first byte, or undefined when nothing is selected. */
  selectionMoved?(first: number | undefined): void;
}

export class HexView {
  readonly viewport = $('hexView');
  private readonly lines: VirtualList;
  private data: Uint8Array | undefined;
  /** Length of the message as sent; more than data.length when an observer copy was truncated. */
  private length = 0;
  /** Anchor and focus byte indexes; the selection is the inclusive range between them. */
  private anchor = -1;
  private focusByte = -1;
  private dragging = false;

  constructor(private readonly actions: HexViewActions) {
    this.lines = new VirtualList(this.viewport, HEX_LINE_HEIGHT, () => this.createLine(), (line, index) => this.renderLine(line, index));
    this.viewport.addEventListener('mousedown', (e) => {
      const i = this.byteAt(e.target);
      if (i < 0) return;
      if (!e.shiftKey || this.anchor < 0) this.anchor = i;
      this.focusByte = i;
      this.dragging = true;
      this.update();
      this.actions.selectionMoved?.(this.selectionRange()?.[0]);
    });
    this.viewport.addEventListener('mouseover', (e) => {
      if (!this.dragging) return;
      const i = this.byteAt(e.target);
      if (i >= 0 && i !== this.focusByte) {
        this.focusByte = i;
        this.update();
      }
    });
    window.addEventListener('mouseup', () => { this.dragging = false; });
    this.viewport.addEventListener('keydown', (e) => this.onKey(e));
  }

  /** Shows a message (undefined: none). `sameMessage` keeps the selection and the scroll position. */
  show(data: Uint8Array | undefined, length: number, sameMessage: boolean): void {
    this.data = data;
    this.length = length;
    if (!sameMessage || !data) {
      this.anchor = this.focusByte = -1;
      this.viewport.scrollTop = 0;
    }
    this.lines.setCount(data ? Math.ceil(data.length / BYTES_PER_LINE) : 0);
    this.update();
  }

  /** Selects bytes first..last (a decoded field) and scrolls them into view. */
  select(first: number, last: number): void {
    if (!this.data || this.data.length === 0) return;
    const n = this.data.length;
    this.anchor = Math.max(0, Math.min(n - 1, first));
    this.focusByte = Math.max(0, Math.min(n - 1, last));
    this.lines.reveal(Math.floor(this.anchor / BYTES_PER_LINE));
    this.update();
  }

  /** The selected byte range [first, last], inclusive. */
  selectionRange(): [number, number] | undefined {
    if (!this.data || this.anchor < 0 || this.focusByte < 0) return undefined;
    return [Math.min(this.anchor, this.focusByte), Math.max(this.anchor, this.focusByte)];
  }

  set hidden(hidden: boolean) {
    this.viewport.hidden = hidden;
    if (!hidden) this.lines.invalidate();
  }

  private update(): void {
    this.lines.invalidate();
    this.lines.renderNow();
    const range = this.selectionRange();
    const info = $('selectionInfo');
    const data = this.data;
    if (!data) info.textContent = '';
    else if (!range) info.textContent = `${data.length} bytes${data.length < this.length ? ` of ${this.length} (observer copy truncated)` : ''}`;
    else {
      const count = range[1] - range[0] + 1;
      info.textContent = `Selected 0x${range[0].toString(16)}–0x${range[1].toString(16)} (${count} byte${count === 1 ? '' : 's'}, offsets ${range[0]}–${range[1]}) of ${data.length}`;
    }
  }

  private byteAt(target: EventTarget | null): number {
    const el = target instanceof HTMLElement ? target.closest<HTMLElement>('.b') : null;
    return el && el.dataset.i ? Number(el.dataset.i) : -1;
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.data || this.data.length === 0) return;
    const n = this.data.length;
    const focus = this.focusByte;
    const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -BYTES_PER_LINE, ArrowDown: BYTES_PER_LINE,
      PageUp: -BYTES_PER_LINE * this.lines.visibleRows, PageDown: BYTES_PER_LINE * this.lines.visibleRows };
    let next: number | undefined;
    if (e.key in moves) next = Math.max(0, Math.min(n - 1, (focus < 0 ? 0 : focus) + moves[e.key]));
    else if (e.key === 'Home') next = e.ctrlKey ? 0 : Math.floor(Math.max(focus, 0) / BYTES_PER_LINE) * BYTES_PER_LINE;
    else if (e.key === 'End') next = e.ctrlKey ? n - 1 : Math.min(n - 1, Math.floor(Math.max(focus, 0) / BYTES_PER_LINE) * BYTES_PER_LINE + BYTES_PER_LINE - 1);
    else if (e.key === 'a' && (e.ctrlKey || e.metaKey)) { this.anchor = 0; this.focusByte = n - 1; this.update(); e.preventDefault(); return; }
    else if (e.key === 'c' && (e.ctrlKey || e.metaKey)) { this.actions.copyHex(); e.preventDefault(); return; }
    else if (e.key === 'Escape') { this.actions.leave(); return; }
    if (next === undefined) return;
    e.preventDefault();
    if (!e.shiftKey || this.anchor < 0) this.anchor = next;
    this.focusByte = next;
    this.lines.reveal(Math.floor(next / BYTES_PER_LINE));
    this.update();
    this.actions.selectionMoved?.(this.selectionRange()?.[0]);
  }

  private createLine(): HTMLElement {
    const line = document.createElement('div');
    line.className = 'hex-line';
    const offset = document.createElement('span');
    offset.className = 'offset';
    const hex = document.createElement('span');
    hex.className = 'hex';
    const ascii = document.createElement('span');
    ascii.className = 'ascii';
    for (let k = 0; k < BYTES_PER_LINE; k++) {
      const h = document.createElement('span');
      h.className = 'b';
      if (k === BYTES_PER_LINE / 2) h.classList.add('gap');
      hex.appendChild(h);
      const a = document.createElement('span');
      a.className = 'b';
      ascii.appendChild(a);
    }
    line.append(offset, hex, ascii);
    return line;
  }

  private renderLine(line: HTMLElement, index: number): void {
    const data = this.data;
    if (!data) return;
    const base = index * BYTES_PER_LINE;
    const range = this.selectionRange();
    (line.children[0] as HTMLElement).textContent = base.toString(16).padStart(8, '0');
    const hex = line.children[1].children;
    const ascii = line.children[2].children;
    for (let k = 0; k < BYTES_PER_LINE; k++) {
      const i = base + k;
      const h = hex[k] as HTMLElement;
      const a = ascii[k] as HTMLElement;
      const present = i < data.length;
      h.textContent = present ? byteHex(data[i]) : '  ';
      a.textContent = present ? asciiChar(data[i]) : ' ';
      h.dataset.i = a.dataset.i = present ? String(i) : '';
      const selected = present && range !== undefined && i >= range[0] && i <= range[1];
      const cursor = present && i === this.focusByte;
      for (const el of [h, a]) {
        el.classList.toggle('sel', selected);
        el.classList.toggle('cursor', cursor);
        el.classList.toggle('np', present && (data[i] < 0x20 || data[i] >= 0x7f));
      }
    }
  }
}
