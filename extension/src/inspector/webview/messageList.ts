// The message list: virtualised rows of the capture as the host sends them (reset/append), the selection, follow
// mode and the list's keyboard.
import { directionLabel, isOutbound, type Direction } from '../shared/model';
import type { CopyFormat, HostToWebview, RowSummary } from '../shared/protocol';
import { fillFieldCells } from './fieldColumns';
import { directionIcon, formatDelta, formatTime } from './format';
import { $ } from './markup';
import { persist, state } from './state';
import { VirtualList } from './virtualList';

const ROW_HEIGHT = 22;

/** A reset or append of the host, its rows decoded (rowBatch.ts). */
export type RowsMessage = Omit<Extract<HostToWebview, { type: 'reset' | 'append' }>, 'rows'> & { readonly rows: RowSummary[] };

/** What the list asks of the rest of the page. */
export interface MessageListActions {
  /** The selection moved to `seq` (`changed`: another message than before). */
  selected(seq: number, changed: boolean): void;
  /** Enter or a double click: look at the selected message. */
  openDetail(): void;
  togglePause(): void;
  focusFilter(): void;
  copy(seq: number, format: CopyFormat): void;
  /** The rows matching the filter, of the retained ones (after every reset/append). */
  counted(matches: number, retained: number): void;
}

/** A row counts as a match unless the filter highlights and says it does not. */
const isMatch = (row: RowSummary): boolean => row.match !== false;

export class MessageList {
  private rows: RowSummary[] = [];
  private selectedIndex = -1;
  private following = true;
  private matches = 0;
  /** The user's own scrolling: a wheel turn not yet answered by a scroll event, or a drag of the scrollbar. */
  private wheelPending = false;
  private dragging = false;
  readonly viewport = $('listViewport');
  private readonly list: VirtualList;

  constructor(private readonly actions: MessageListActions) {
    this.list = new VirtualList(this.viewport, ROW_HEIGHT, () => this.createRow(), (element, index) => this.renderRow(element, index));
    // Follow mode changes only on what the user does (wheel, scrollbar drag, keys, the button). Scrolls the page
    // makes itself never change it: new rows, the oldest rows dropped, or a notice resizing the viewport.
    this.viewport.addEventListener('wheel', (e) => {
      if (e.deltaY < 0) this.setFollow(false);
      else this.wheelPending = true;
    }, { passive: true });
    this.viewport.addEventListener('pointerdown', (e) => { if (e.target === this.viewport) this.dragging = true; });
    window.addEventListener('pointerup', () => { this.dragging = false; });
    this.viewport.addEventListener('scroll', () => {
      if (!this.dragging && !this.wheelPending) return;
      this.wheelPending = false;
      const atBottom = this.list.isAtBottom();
      if (atBottom !== this.following) this.setFollow(atBottom);
    });
    new ResizeObserver(() => { if (this.following) this.list.scrollToBottom(); }).observe(this.viewport);
    this.viewport.addEventListener('keydown', (e) => this.onKey(e));
    $('follow').addEventListener('click', () => this.setFollow(!this.following));
  }

  /** Following: the list keeps its last row in view as rows arrive. */
  get isFollowing(): boolean {
    return this.following;
  }

  /** A row's time as the list shows it (absolute, or relative to the first row). */
  formatTime(t: number): string {
    return formatTime(t, state.timeMode, this.rows.length > 0 ? this.rows[0].t : t);
  }

  /** Selects the next (direction 1) or previous (-1) matching row from the selection, wrapping around. */
  selectMatch(direction: 1 | -1): void {
    const count = this.rows.length;
    if (count === 0) return;
    const from = this.selectedIndex < 0 ? (direction === 1 ? -1 : count) : this.selectedIndex;
    for (let step = 1; step <= count; step++) {
      const index = (((from + direction * step) % count) + count) % count;
      if (isMatch(this.rows[index])) {
        this.selectByUser(index);
        return;
      }
    }
  }

  /** Applies a reset (the whole list) or an append (new rows; rows older than firstSeq were dropped). */
  apply(message: RowsMessage): void {
    const scrollTop = this.viewport.scrollTop;
    let removed = 0;
    if (message.type === 'reset') {
      this.rows = message.rows;
      this.matches = 0;
    } else {
      while (removed < this.rows.length && this.rows[removed].seq < message.firstSeq) {
        if (isMatch(this.rows[removed])) this.matches--;
        removed++;
      }
      if (removed > 0) this.rows.splice(0, removed);
      for (const r of message.rows) this.rows.push(r);
    }
    for (const r of message.rows) if (isMatch(r)) this.matches++;
    this.actions.counted(this.matches, message.retained);
    this.selectedIndex = state.selectedSeq === undefined ? -1 : this.indexOfSeq(state.selectedSeq);
    this.list.setCount(this.rows.length);
    if (this.following) this.list.scrollToBottom();
    else if (removed > 0) this.viewport.scrollTop = Math.max(0, scrollTop - removed * ROW_HEIGHT);
    $('empty').hidden = this.rows.length > 0;
    $('empty').textContent = message.retained > 0 ? 'No message matches the filter.' : 'No messages yet.';
  }

  /** The selected row's seq, if it is in the list. */
  get selectedSeq(): number | undefined {
    return this.selectedIndex >= 0 ? this.rows[this.selectedIndex].seq : undefined;
  }

  /** Forgets the selection (a new capture: its seqs name other messages). */
  forgetSelection(): void {
    state.selectedSeq = undefined;
    this.selectedIndex = -1;
  }

  select(index: number, reveal = true): void {
    if (this.rows.length === 0 || Number.isNaN(index)) return;
    index = Math.max(0, Math.min(this.rows.length - 1, index));
    const seq = this.rows[index].seq;
    const changed = seq !== state.selectedSeq;
    this.selectedIndex = index;
    state.selectedSeq = seq;
    persist();
    this.viewport.setAttribute('aria-activedescendant', `row-${seq}`);
    if (reveal) this.list.reveal(index);
    this.list.invalidate();
    this.list.renderNow();
    this.actions.selected(seq, changed);
  }

  /** A move the user made from the keyboard scrolls the list: it follows again only on the last row. */
  private selectByUser(index: number): void {
    this.select(index);
    if (this.rows.length > 0) this.setFollow(this.selectedIndex === this.rows.length - 1);
  }

  setFollow(value: boolean): void {
    this.following = value;
    $('follow').setAttribute('aria-pressed', String(value));
    $('follow').classList.toggle('active', value);
    if (value) this.list.scrollToBottom();
  }

  /** Redraws the rows (the time mode changed). */
  redraw(): void {
    this.list.invalidate();
  }

  focus(): void {
    this.viewport.focus();
  }

  private indexOfSeq(seq: number): number {
    let lo = 0;
    let hi = this.rows.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.rows[mid].seq === seq) return mid;
      if (this.rows[mid].seq < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private createRow(): HTMLElement {
    const row = document.createElement('div');
    row.className = 'row';
    row.setAttribute('role', 'option');
    row.innerHTML = '<span class="c-seq"></span><span class="c-time"></span><span class="c-delta"></span><span class="c-dir"><span class="codicon"></span><span class="label"></span></span><span class="c-size"></span><span class="c-fields"></span><span class="c-preview"></span>';
    row.addEventListener('mousedown', () => this.select(Number(row.dataset.index)));
    row.addEventListener('dblclick', () => this.actions.openDetail());
    return row;
  }

  private renderRow(element: HTMLElement, index: number): void {
    const r = this.rows[index];
    const selected = index === this.selectedIndex;
    element.dataset.index = String(index);
    element.dataset.seq = String(r.seq);
    element.id = `row-${r.seq}`;
    const cells = element.children;
    const dirCell = cells[3];
    cells[0].textContent = String(r.seq);
    cells[1].textContent = formatTime(r.t, state.timeMode, this.rows.length > 0 ? this.rows[0].t : r.t);
    cells[2].textContent = formatDelta(r.delta);
    if (r.kind === 'event') {
      element.className = `row event${selected ? ' selected' : ''}${r.match ? ' match' : ''}`;
      dirCell.children[0].className = 'codicon codicon-warning';
      dirCell.children[1].textContent = r.channel !== undefined ? `${r.channel}: ${r.event ?? 'event'}` : r.event ?? 'event';
      cells[4].textContent = '';
      fillFieldCells(cells[5], undefined);
      cells[6].textContent = r.preview;
    } else {
      const dir = r.dir as Direction;
      element.className = `row ${isOutbound(dir) ? 'out' : 'in'}${selected ? ' selected' : ''}${r.match ? ' match' : ''}`;
      dirCell.children[0].className = `codicon ${directionIcon(dir)}`;
      dirCell.children[1].textContent = r.channel !== undefined ? `${r.channel}: ${directionLabel(dir)}` : directionLabel(dir);
      cells[4].textContent = r.captured < r.len ? `${r.len} (${r.captured} seen)` : String(r.len);
      fillFieldCells(cells[5], r.fields);
      cells[6].textContent = r.preview;
    }
    element.setAttribute('aria-selected', selected ? 'true' : 'false');
  }

  private onKey(e: KeyboardEvent): void {
    const page = this.list.visibleRows;
    const current = this.selectedIndex < 0 ? this.rows.length : this.selectedIndex;
    const selectedSeq = this.selectedSeq;
    let handled = true;
    switch (e.key) {
      case 'ArrowDown': this.selectByUser(current + 1); break;
      case 'ArrowUp': this.selectByUser(current - 1); break;
      case 'PageDown': this.selectByUser(current + page); break;
      case 'PageUp': this.selectByUser(current - page); break;
      case 'Home': this.selectByUser(0); break;
      case 'End': this.select(this.rows.length - 1); this.setFollow(true); break;
      case 'F3': this.selectMatch(e.shiftKey ? -1 : 1); break;
      case 'Enter': this.actions.openDetail(); break;
      case ' ': this.actions.togglePause(); break;
      case '/': this.actions.focusFilter(); break;
      case 'c':
        // Ctrl+C copies the selected message as text (Ctrl+Shift+C as hex).
        if ((e.ctrlKey || e.metaKey) && selectedSeq !== undefined) this.actions.copy(selectedSeq, 'text');
        else handled = false;
        break;
      case 'C':
        if ((e.ctrlKey || e.metaKey) && selectedSeq !== undefined) this.actions.copy(selectedSeq, 'hex');
        else handled = false;
        break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  }
}
