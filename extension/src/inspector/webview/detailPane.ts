// The detail pane: asks the host for the selected message's bytes and shows them in the hex, text or JSON view,
// with the copy/open/save buttons.
import { prettyJson } from '../shared/bytes';
import { directionLabel } from '../shared/model';
import type { CopyFormat, EditorFormat, RowSummary } from '../shared/protocol';
import { host } from './host';
import { HexView } from './hexView';
import { $ } from './markup';
import { persist, state, type DetailTab } from './state';
import { TextViews } from './textViews';
import { FieldTree } from './fieldTree';
import type { WireDecoded } from '../shared/decoded';

interface Detail { seq: number; data: Uint8Array; length: number; row: RowSummary; json: string | undefined }

/** Structured clone keeps a Uint8Array; anything else the host may send is made into one. */
function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (Array.isArray(value)) return Uint8Array.from(value as number[]);
  if (value && typeof value === 'object') return Uint8Array.from(Object.values(value as Record<string, number>));
  return new Uint8Array(0);
}

export class DetailPane {
  private detail: Detail | undefined;
  private readonly hex: HexView;
  private readonly text = new TextViews();
  readonly fields: FieldTree;

  /**
   * `leave`: Escape in any of the views goes back to the list. `formatTime`: a row's time as the list writes it,
   * so the header and the list agree.
   */
  constructor(leave: () => void, private readonly formatTime: (t: number) => string, plot: { toggle(path: string): void; readonly plotted: readonly string[] },
    columns: { toggle(path: string): void; readonly shown: readonly string[] }) {
    this.hex = new HexView({ leave, copyHex: () => this.copy('hex'), selectionMoved: (first) => this.fields.highlightByte(first) });
    this.fields = new FieldTree({
      leave,
      togglePlot: (path) => plot.toggle(path),
      isPlotted: (path) => plot.plotted.includes(path),
      toggleColumn: (path) => columns.toggle(path),
      isColumn: (path) => columns.shown.includes(path),
      selectBytes: (first, last) => {
        if (state.detailTab !== 'hex') this.showTab('hex');
        this.hex.select(first, last);
      },
    });
    for (const view of [this.text.textView, this.text.jsonView]) {
      view.addEventListener('keydown', (e) => {
        if (e.key !== 'Escape') return;
        e.preventDefault();
        leave();
      });
    }
    for (const t of ['hex', 'text', 'json'] as const) $(`tab-${t}`).addEventListener('click', () => this.showTab(t));
    const showEol = $<HTMLInputElement>('showEol');
    showEol.checked = state.showLineEndings;
    showEol.addEventListener('change', () => {
      state.showLineEndings = showEol.checked;
      persist();
      this.text.showText(this.detail?.data, state.showLineEndings);
    });
    $('copyText').addEventListener('click', () => this.copy('text'));
    $('copyHex').addEventListener('click', () => this.copy('hex'));
    $('copyBase64').addEventListener('click', () => this.copy('base64'));
    $('openEditor').addEventListener('click', () => {
      const detail = this.detail;
      if (!detail) return;
      const format: EditorFormat = state.detailTab === 'json' && detail.json ? 'json' : state.detailTab === 'hex' ? 'hex' : 'text';
      host.notify({ type: 'openInEditor', seq: detail.seq, format });
    });
    $('saveBytes').addEventListener('click', () => { if (this.detail) host.notify({ type: 'saveBytes', seq: this.detail.seq }); });
    this.clear('Select a message');
    this.showTab(state.detailTab);
  }

  /** The seq shown, if any. */
  get seq(): number | undefined {
    return this.detail?.seq;
  }

  /** Fetches and shows message `seq` unless it is already shown (`reload` fetches it anyway). */
  async load(seq: number, reload: boolean): Promise<void> {
    if (!reload && this.detail?.seq === seq) return;
    const reply = await host.request({ type: 'select', seq });
    // The user may have moved on while the bytes were on their way.
    if (seq !== state.selectedSeq) return;
    if (reply.found) this.show(seq, toBytes(reply.data), reply.length, reply.row, reply.decoded);
    else this.clear(`Message #${seq} is no longer retained`);
  }

  clear(title: string): void {
    this.detail = undefined;
    $('detailTitle').textContent = title;
    this.hex.show(undefined, 0, false);
    this.text.showText(undefined, state.showLineEndings);
    this.text.showJson(undefined);
    this.fields.show(undefined);
    this.setEnabled(false);
  }

  get isEmpty(): boolean {
    return this.detail === undefined;
  }

  focus(): void {
    const target = state.detailTab === 'hex' ? this.hex.viewport : state.detailTab === 'text' ? this.text.textView : this.text.jsonView;
    target.focus();
  }

  private show(seq: number, data: Uint8Array, length: number, row: RowSummary, decoded: WireDecoded | undefined): void {
    const json = prettyJson(data);
    const sameMessage = this.detail?.seq === seq;
    this.detail = { seq, data, length, row, json };
    this.renderTitle();
    this.hex.show(data, length, sameMessage);
    this.text.showText(data, state.showLineEndings);
    this.text.showJson(json);
    this.fields.show(decoded);
    this.setEnabled(true);
    this.showTab(state.detailTab);
  }

  /** Writes the header (again, when the time mode changed). */
  renderTitle(): void {
    const detail = this.detail;
    if (!detail) return;
    const { row, length } = detail;
    const what = row.kind === 'event' ? (row.event ?? 'event') : row.dir ? directionLabel(row.dir) : '';
    $('detailTitle').textContent = `#${row.seq} · ${what} · ${length} bytes · ${this.formatTime(row.t)}`;
  }

  private showTab(tab: DetailTab): void {
    if (tab === 'json' && !this.detail?.json) tab = 'text';
    state.detailTab = tab;
    persist();
    for (const t of ['hex', 'text', 'json'] as const) {
      const button = $(`tab-${t}`);
      button.setAttribute('aria-selected', String(t === tab));
      button.classList.toggle('active', t === tab);
    }
    ($('tab-json') as HTMLButtonElement).disabled = !this.detail?.json;
    this.hex.hidden = tab !== 'hex';
    this.text.textView.hidden = tab !== 'text';
    this.text.jsonView.hidden = tab !== 'json';
  }

  private setEnabled(enabled: boolean): void {
    for (const id of ['copyText', 'copyHex', 'copyBase64', 'openEditor', 'saveBytes']) ($(id) as HTMLButtonElement).disabled = !enabled;
  }

  private copy(format: CopyFormat): void {
    if (!this.detail) return;
    const range = this.hex.selectionRange();
    host.notify({ type: 'copy', seq: this.detail.seq, format, ...(range ? { start: range[0], end: range[1] + 1 } : {}) });
  }
}
