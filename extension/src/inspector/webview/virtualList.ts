// A list that only creates DOM for the rows in view, so 100,000 rows scroll as smoothly as 100.
// Rows have one fixed height; the content div gets the full height so the native scrollbar is right.

export class VirtualList {
  private readonly content: HTMLDivElement;
  private count = 0;
  private readonly pool: HTMLElement[] = [];
  private frame = 0;
  private lastRange = { start: -1, end: -1, count: -1, version: -1 };
  private version = 0;

  constructor(
    readonly viewport: HTMLElement,
    readonly rowHeight: number,
    private readonly createRow: () => HTMLElement,
    private readonly renderRow: (element: HTMLElement, index: number) => void,
  ) {
    this.content = document.createElement('div');
    this.content.className = 'virtual-content';
    viewport.appendChild(this.content);
    viewport.addEventListener('scroll', () => this.schedule());
    new ResizeObserver(() => this.schedule()).observe(viewport);
  }

  get length(): number { return this.count; }

  /** Sets the row count; rows already drawn are redrawn (their data may have shifted). */
  setCount(count: number): void {
    this.count = count;
    this.content.style.height = `${count * this.rowHeight}px`;
    this.invalidate();
  }

  /** Redraws the visible rows on the next frame. */
  invalidate(): void {
    this.version++;
    this.schedule();
  }

  /** Redraws now (for tests and for keyboard moves that must show at once). */
  renderNow(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.render();
  }

  get visibleRows(): number {
    return Math.max(1, Math.floor(this.viewport.clientHeight / this.rowHeight));
  }

  isAtBottom(): boolean {
    return this.viewport.scrollTop + this.viewport.clientHeight >= this.viewport.scrollHeight - this.rowHeight / 2;
  }

  scrollToBottom(): void {
    this.viewport.scrollTop = this.viewport.scrollHeight;
  }

  /** Scrolls the least needed to show row `index`. */
  reveal(index: number): void {
    const top = index * this.rowHeight;
    if (top < this.viewport.scrollTop) this.viewport.scrollTop = top;
    else if (top + this.rowHeight > this.viewport.scrollTop + this.viewport.clientHeight) {
      this.viewport.scrollTop = top + this.rowHeight - this.viewport.clientHeight;
    }
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const overscan = 8;
    const start = Math.max(0, Math.floor(this.viewport.scrollTop / this.rowHeight) - overscan);
    const end = Math.min(this.count, Math.ceil((this.viewport.scrollTop + this.viewport.clientHeight) / this.rowHeight) + overscan);
    const last = this.lastRange;
    if (last.start === start && last.end === end && last.count === this.count && last.version === this.version) return;
    this.lastRange = { start, end, count: this.count, version: this.version };
    const needed = Math.max(0, end - start);
    while (this.pool.length < needed) {
      const row = this.createRow();
      row.style.position = 'absolute';
      row.style.left = '0';
      row.style.right = '0';
      row.style.height = `${this.rowHeight}px`;
      this.pool.push(row);
      this.content.appendChild(row);
    }
    for (let k = 0; k < this.pool.length; k++) {
      const row = this.pool[k];
      if (k < needed) {
        const index = start + k;
        row.style.top = `${index * this.rowHeight}px`;
        row.hidden = false;
        this.renderRow(row, index);
      } else {
        row.hidden = true;
      }
    }
  }
}
