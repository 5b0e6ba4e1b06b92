// The inspector webview: message list, detail (hex/text/JSON), filters, send box, statistics. The extension host
// owns the capture; this page shows the rows it is sent and asks for a message's bytes when one is selected.
// UI state (filter, selection, send history...) lives in the webview state so it survives hide/show and reload.
import { formatBytes } from '../../format';
import { asciiChar, byteHex, decodeUtf8Visible, prettyJson } from '../bytes';
import type { FilterSpec } from '../filter';
import { directionLabel, isOutbound, type Direction } from '../model';
import type {
  CopyFormat, EditorFormat, ExportFormat, HostToWebview, InspectorMode, LineEnding, RowSummary, SendFormat, StatsSnapshot, WebviewToHost,
} from '../protocol';
import { VirtualList } from './virtualList';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: PersistedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type DetailTab = 'hex' | 'text' | 'json';
type TimeMode = 'absolute' | 'relative';

interface PersistedState {
  target?: { name: string; mode: InspectorMode };
  captureId?: string;
  timeMode: TimeMode;
  filter: FilterSpec;
  selectedSeq?: number;
  detailTab: DetailTab;
  showLineEndings: boolean;
  sendFormat: SendFormat;
  lineEnding: LineEnding;
  history: string[];
  exportFiltered: boolean;
}

const HISTORY_LIMIT = 50;
const ROW_HEIGHT = 22;
const HEX_LINE_HEIGHT = 20;
const BYTES_PER_LINE = 16;
const TEXT_RENDER_LIMIT = 256 * 1024;

const vscode = acquireVsCodeApi();
const saved = (vscode.getState() ?? {}) as Partial<PersistedState>;
const state: PersistedState = {
  target: saved.target,
  captureId: saved.captureId,
  timeMode: saved.timeMode === 'relative' ? 'relative' : 'absolute',
  filter: saved.filter ?? {},
  selectedSeq: saved.selectedSeq,
  detailTab: saved.detailTab ?? 'hex',
  showLineEndings: saved.showLineEndings ?? false,
  sendFormat: saved.sendFormat ?? 'text',
  lineEnding: saved.lineEnding ?? 'none',
  history: Array.isArray(saved.history) ? saved.history.slice(-HISTORY_LIMIT) : [],
  exportFiltered: saved.exportFiltered ?? false,
};
const persist = (): void => vscode.setState(state);
const post = (message: WebviewToHost): void => vscode.postMessage(message);

// ---- markup -------------------------------------------------------------------------------------------------
const app = document.getElementById('app') as HTMLDivElement;
app.innerHTML = `
<header class="toolbar" role="toolbar" aria-label="Inspector">
  <span class="title"><span class="codicon codicon-plug" aria-hidden="true"></span><span id="title">sipc</span>
    <span id="mode" class="badge"></span><span id="state" class="badge"></span></span>
  <span class="spacer"></span>
  <button id="pause" class="icon" title="Pause the list (capture continues)" aria-pressed="false"><span class="codicon codicon-debug-pause"></span></button>
  <button id="follow" class="icon" title="Follow new messages (End)" aria-pressed="true"><span class="codicon codicon-arrow-down"></span></button>
  <button id="timeMode" class="icon" title="Toggle absolute/relative time"><span class="codicon codicon-clock"></span></button>
  <button id="clear" class="icon" title="Clear the capture"><span class="codicon codicon-clear-all"></span></button>
  <span class="separator"></span>
  <label class="check" title="Export only the rows the filter shows"><input type="checkbox" id="exportFiltered"> filtered only</label>
  <button id="exportJsonl" title="Export the capture as JSON Lines (base64 payloads)"><span class="codicon codicon-export"></span> JSONL</button>
  <button id="exportPcapng" title="Export the capture as pcapng for Wireshark"><span class="codicon codicon-export"></span> pcapng</button>
</header>
<section class="filters" aria-label="Filter">
  <span class="codicon codicon-filter" aria-hidden="true"></span>
  <span id="directionFilters"></span>
  <input id="filterText" type="search" placeholder="Text" aria-label="Filter by text" spellcheck="false">
  <input id="filterHex" type="search" placeholder="Hex bytes, e.g. 0d 0a" aria-label="Filter by hex bytes" spellcheck="false">
  <input id="filterMin" type="number" min="0" placeholder="Min size" aria-label="Minimum size in bytes">
  <input id="filterMax" type="number" min="0" placeholder="Max size" aria-label="Maximum size in bytes">
  <label class="check"><input type="checkbox" id="filterEvents" checked> events</label>
  <span id="filterError" class="error" role="alert"></span>
</section>
<div id="pausedNotice" class="notice" hidden><span class="codicon codicon-debug-pause"></span> The list is paused; the capture goes on. Resume with the ▶ button or Space in the list.</div>
<div id="dropped" class="notice" hidden><span class="codicon codicon-warning"></span> <span id="droppedText"></span></div>
<main class="split">
  <section class="list" aria-label="Messages">
    <div class="row header" aria-hidden="true"><span class="c-seq">#</span><span class="c-time" id="timeHeader">Time</span><span class="c-delta">Δ</span><span class="c-dir">Direction</span><span class="c-size">Size</span><span class="c-preview">Preview</span></div>
    <div id="listViewport" class="viewport" tabindex="0" role="listbox" aria-label="Messages, arrow keys to move"></div>
    <div id="empty" class="empty">No messages yet.</div>
  </section>
  <section class="detail" aria-label="Selected message">
    <div class="detail-bar">
      <span id="detailTitle" class="detail-title">Select a message</span>
      <span class="spacer"></span>
      <span role="tablist" class="tabs">
        <button role="tab" id="tab-hex" data-tab="hex">Hex</button><button role="tab" id="tab-text" data-tab="text">Text</button><button role="tab" id="tab-json" data-tab="json">JSON</button>
      </span>
      <label class="check" title="Show line endings (CR, LF) in the text view"><input type="checkbox" id="showEol"> CR/LF</label>
      <button id="copyText" class="icon" title="Copy as text"><span class="codicon codicon-symbol-string"></span></button>
      <button id="copyHex" class="icon" title="Copy as hex"><span class="codicon codicon-file-binary"></span></button>
      <button id="copyBase64" class="icon" title="Copy as base64"><span class="codicon codicon-copy"></span></button>
      <button id="openEditor" class="icon" title="Open in an editor tab"><span class="codicon codicon-go-to-file"></span></button>
      <button id="saveBytes" class="icon" title="Save the bytes to a file"><span class="codicon codicon-save"></span></button>
    </div>
    <div id="hexView" class="hex-view" tabindex="0" role="grid" aria-label="Hex dump: arrows move, Shift+arrows select"></div>
    <pre id="textView" class="text-view" tabindex="0" hidden></pre>
    <pre id="jsonView" class="text-view" tabindex="0" hidden></pre>
    <div id="selectionInfo" class="selection-info"></div>
  </section>
</main>
<section id="sendBox" class="send" aria-label="Send" hidden>
  <select id="sendFormat" aria-label="Input format"><option value="text">Text</option><option value="hex">Hex</option><option value="base64">Base64</option></select>
  <select id="lineEnding" aria-label="Line ending (text only)"><option value="none">No line ending</option><option value="lf">LF</option><option value="crlf">CRLF</option></select>
  <textarea id="sendInput" rows="1" placeholder="Message — Enter sends, Shift+Enter new line, ↑/↓ history" aria-label="Message to send" spellcheck="false"></textarea>
  <button id="send" title="Send (Enter)"><span class="codicon codicon-send"></span> Send</button>
  <button id="sendFile" class="icon" title="Send a file as one message"><span class="codicon codicon-file"></span></button>
  <span id="sendError" class="error" role="alert"></span>
</section>
<footer id="stats" class="stats" aria-live="off"></footer>`;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

// ---- message list -------------------------------------------------------------------------------------------
let rows: RowSummary[] = [];
let mode: InspectorMode = state.target?.mode ?? 'peer';
let follow = true;
let paused = false;
let selectedIndex = -1;
let lastStats: StatsSnapshot | undefined;

function formatTime(t: number): string {
  if (state.timeMode === 'relative') {
    const base = rows.length > 0 ? rows[0].t : t;
    return `+${((t - base) / 1000).toFixed(6)}`;
  }
  const d = new Date(t);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${pad(Math.floor((t * 1000) % 1000), 3)}`;
}

function formatDelta(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 3 : 1)} ms`;
  return `${(ms / 1000).toFixed(3)} s`;
}

function directionIcon(dir: Direction): string {
  return isOutbound(dir) ? 'codicon-arrow-up' : 'codicon-arrow-down';
}

function createRow(): HTMLElement {
  const row = document.createElement('div');
  row.className = 'row';
  row.setAttribute('role', 'option');
  row.innerHTML = '<span class="c-seq"></span><span class="c-time"></span><span class="c-delta"></span><span class="c-dir"><span class="codicon"></span><span class="label"></span></span><span class="c-size"></span><span class="c-preview"></span>';
  row.addEventListener('mousedown', () => select(Number(row.dataset.index)));
  row.addEventListener('dblclick', () => focusDetail());
  return row;
}

function renderRow(element: HTMLElement, index: number): void {
  const r = rows[index];
  element.dataset.index = String(index);
  element.dataset.seq = String(r.seq);
  element.id = `row-${r.seq}`;
  const cells = element.children;
  const dirCell = cells[3];
  cells[0].textContent = String(r.seq);
  cells[1].textContent = formatTime(r.t);
  cells[2].textContent = formatDelta(r.delta);
  if (r.kind === 'event') {
    element.className = `row event${index === selectedIndex ? ' selected' : ''}`;
    dirCell.children[0].className = 'codicon codicon-warning';
    dirCell.children[1].textContent = r.event ?? 'event';
    cells[4].textContent = '';
    cells[5].textContent = r.preview;
  } else {
    const dir = r.dir as Direction;
    element.className = `row ${isOutbound(dir) ? 'out' : 'in'}${index === selectedIndex ? ' selected' : ''}`;
    dirCell.children[0].className = `codicon ${directionIcon(dir)}`;
    dirCell.children[1].textContent = directionLabel(dir);
    cells[4].textContent = r.captured < r.len ? `${r.len} (${r.captured} seen)` : String(r.len);
    cells[5].textContent = r.preview;
  }
  element.setAttribute('aria-selected', index === selectedIndex ? 'true' : 'false');
}

const listViewport = $('listViewport');
const list = new VirtualList(listViewport, ROW_HEIGHT, createRow, renderRow);
listViewport.addEventListener('scroll', () => {
  const atBottom = list.isAtBottom();
  if (atBottom !== follow) setFollow(atBottom);
});

function setFollow(value: boolean): void {
  follow = value;
  $('follow').setAttribute('aria-pressed', String(value));
  $('follow').classList.toggle('active', value);
  if (value) list.scrollToBottom();
}

function indexOfSeq(seq: number): number {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid].seq === seq) return mid;
    if (rows[mid].seq < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

function select(index: number, reveal = true): void {
  if (rows.length === 0 || Number.isNaN(index)) return;
  index = Math.max(0, Math.min(rows.length - 1, index));
  const seq = rows[index].seq;
  const changed = seq !== state.selectedSeq;
  selectedIndex = index;
  state.selectedSeq = seq;
  persist();
  listViewport.setAttribute('aria-activedescendant', `row-${seq}`);
  if (reveal) list.reveal(index);
  list.invalidate();
  list.renderNow();
  if (changed || !detail || detail.seq !== seq) post({ type: 'select', seq });
}

function applyRows(message: Extract<HostToWebview, { type: 'reset' | 'append' }>): void {
  const scrollTop = listViewport.scrollTop;
  let removed = 0;
  if (message.type === 'reset') {
    rows = message.rows;
  } else {
    while (removed < rows.length && rows[removed].seq < message.firstSeq) removed++;
    if (removed > 0) rows.splice(0, removed);
    for (const r of message.rows) rows.push(r);
  }
  selectedIndex = state.selectedSeq === undefined ? -1 : indexOfSeq(state.selectedSeq);
  list.setCount(rows.length);
  if (follow) list.scrollToBottom();
  else if (removed > 0) listViewport.scrollTop = Math.max(0, scrollTop - removed * ROW_HEIGHT);
  if (message.retained === 0 && detail) clearDetail('Select a message');
  $('empty').hidden = rows.length > 0;
  $('empty').textContent = message.retained > 0 ? 'No message matches the filter.' : 'No messages yet.';
  if (message.type === 'reset' && selectedIndex >= 0 && (!detail || detail.seq !== state.selectedSeq)) post({ type: 'select', seq: rows[selectedIndex].seq });
  updateDropped(message.dropped);
}

function updateDropped(dropped: number): void {
  const box = $('dropped');
  box.hidden = dropped === 0;
  if (dropped > 0) {
    const limit = lastStats ? ` to keep the last ${lastStats.maxMessages.toLocaleString()}` : '';
    $('droppedText').textContent = `${dropped.toLocaleString()} oldest messages dropped${limit} (setting sipc.inspector.retainedMessages).`;
  }
}

listViewport.addEventListener('keydown', (e) => {
  const page = list.visibleRows;
  const current = selectedIndex < 0 ? rows.length : selectedIndex;
  let handled = true;
  switch (e.key) {
    case 'ArrowDown': select(current + 1); break;
    case 'ArrowUp': select(current - 1); break;
    case 'PageDown': select(current + page); break;
    case 'PageUp': select(current - page); break;
    case 'Home': select(0); break;
    case 'End': select(rows.length - 1); setFollow(true); break;
    case 'Enter': focusDetail(); break;
    case ' ': togglePause(); break;
    case '/': $('filterText').focus(); break;
    case 'c':
      // Ctrl+C copies the selected message as text (Ctrl+Shift+C as hex).
      if ((e.ctrlKey || e.metaKey) && selectedIndex >= 0) post({ type: 'copy', seq: rows[selectedIndex].seq, format: 'text' });
      else handled = false;
      break;
    case 'C':
      if ((e.ctrlKey || e.metaKey) && selectedIndex >= 0) post({ type: 'copy', seq: rows[selectedIndex].seq, format: 'hex' });
      else handled = false;
      break;
    default: handled = false;
  }
  if (handled) e.preventDefault();
});

// ---- toolbar ------------------------------------------------------------------------------------------------
function togglePause(): void {
  post({ type: 'pause', paused: !paused });
}
function showPaused(value: boolean): void {
  paused = value;
  const button = $('pause');
  button.setAttribute('aria-pressed', String(value));
  button.title = value ? 'Resume the list' : 'Pause the list (capture continues)';
  (button.firstElementChild as HTMLElement).className = `codicon ${value ? 'codicon-debug-start' : 'codicon-debug-pause'}`;
  button.classList.toggle('active', value);
  $('pausedNotice').hidden = !value;
}
$('pause').addEventListener('click', togglePause);
$('follow').addEventListener('click', () => setFollow(!follow));
$('timeMode').addEventListener('click', () => {
  state.timeMode = state.timeMode === 'absolute' ? 'relative' : 'absolute';
  persist();
  updateTimeHeader();
  list.invalidate();
});
function updateTimeHeader(): void {
  $('timeHeader').textContent = state.timeMode === 'absolute' ? 'Time' : 'Time (s, relative)';
  $('timeMode').setAttribute('aria-pressed', String(state.timeMode === 'relative'));
}
$('clear').addEventListener('click', () => post({ type: 'clear' }));
const exportFiltered = $<HTMLInputElement>('exportFiltered');
exportFiltered.checked = state.exportFiltered;
exportFiltered.addEventListener('change', () => { state.exportFiltered = exportFiltered.checked; persist(); });
const exportAs = (format: ExportFormat): void => post({ type: 'export', format, filtered: exportFiltered.checked });
$('exportJsonl').addEventListener('click', () => exportAs('jsonl'));
$('exportPcapng').addEventListener('click', () => exportAs('pcapng'));

// ---- filters ------------------------------------------------------------------------------------------------
const filterText = $<HTMLInputElement>('filterText');
const filterHex = $<HTMLInputElement>('filterHex');
const filterMin = $<HTMLInputElement>('filterMin');
const filterMax = $<HTMLInputElement>('filterMax');
const filterEvents = $<HTMLInputElement>('filterEvents');
filterText.value = state.filter.text ?? '';
filterHex.value = state.filter.hex ?? '';
filterMin.value = state.filter.minSize === undefined ? '' : String(state.filter.minSize);
filterMax.value = state.filter.maxSize === undefined ? '' : String(state.filter.maxSize);
filterEvents.checked = state.filter.events !== false;

function directionsForMode(m: InspectorMode): Direction[] {
  return m === 'peer' ? ['sent', 'received'] : ['to-server', 'to-client'];
}

function renderDirectionFilters(): void {
  const container = $('directionFilters');
  container.textContent = '';
  const chosen = state.filter.directions ?? [];
  for (const dir of directionsForMode(mode)) {
    const label = document.createElement('label');
    label.className = 'check';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = dir;
    box.checked = chosen.length === 0 || chosen.includes(dir);
    box.addEventListener('change', () => {
      // An empty direction set would mean "all"; keep at least one direction ticked instead.
      if (![...container.querySelectorAll<HTMLInputElement>('input')].some((b) => b.checked)) box.checked = true;
      scheduleFilter();
    });
    label.append(box, ` ${directionLabel(dir)}`);
    container.appendChild(label);
  }
}

let filterTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleFilter(): void {
  if (filterTimer) clearTimeout(filterTimer);
  filterTimer = setTimeout(sendFilter, 200);
}
function sizeValue(input: HTMLInputElement): number | undefined {
  return input.value.trim() === '' ? undefined : Number(input.value);
}
function sendFilter(): void {
  const boxes = [...$('directionFilters').querySelectorAll<HTMLInputElement>('input')];
  const checked = boxes.filter((b) => b.checked).map((b) => b.value as Direction);
  state.filter = {
    directions: checked.length === boxes.length ? [] : checked,
    text: filterText.value,
    hex: filterHex.value,
    minSize: sizeValue(filterMin),
    maxSize: sizeValue(filterMax),
    events: filterEvents.checked,
  };
  persist();
  post({ type: 'filter', spec: state.filter });
}
for (const input of [filterText, filterHex, filterMin, filterMax]) input.addEventListener('input', scheduleFilter);
filterEvents.addEventListener('change', scheduleFilter);

// ---- detail ---------------------------------------------------------------------------------------------------
interface Detail { seq: number; data: Uint8Array; length: number; row: RowSummary; json: string | undefined }
let detail: Detail | undefined;
/** Hex selection: anchor and focus byte indexes (inclusive range between them). */
let anchor = -1;
let focusByte = -1;
let dragging = false;

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (Array.isArray(value)) return Uint8Array.from(value as number[]);
  if (value && typeof value === 'object') return Uint8Array.from(Object.values(value as Record<string, number>));
  return new Uint8Array(0);
}

function selectionRange(): [number, number] | undefined {
  if (!detail || anchor < 0 || focusByte < 0) return undefined;
  return [Math.min(anchor, focusByte), Math.max(anchor, focusByte)];
}

function createHexLine(): HTMLElement {
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

function renderHexLine(line: HTMLElement, index: number): void {
  if (!detail) return;
  const data = detail.data;
  const base = index * BYTES_PER_LINE;
  const range = selectionRange();
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
    const cursor = present && i === focusByte;
    for (const el of [h, a]) {
      el.classList.toggle('sel', selected);
      el.classList.toggle('cursor', cursor);
      el.classList.toggle('np', present && (data[i] < 0x20 || data[i] >= 0x7f));
    }
  }
}

const hexViewport = $('hexView');
const hexList = new VirtualList(hexViewport, HEX_LINE_HEIGHT, createHexLine, renderHexLine);

function byteAt(target: EventTarget | null): number {
  const el = target instanceof HTMLElement ? target.closest<HTMLElement>('.b') : null;
  return el && el.dataset.i ? Number(el.dataset.i) : -1;
}
hexViewport.addEventListener('mousedown', (e) => {
  const i = byteAt(e.target);
  if (i < 0) return;
  if (!e.shiftKey || anchor < 0) anchor = i;
  focusByte = i;
  dragging = true;
  updateSelection();
});
hexViewport.addEventListener('mouseover', (e) => {
  if (!dragging) return;
  const i = byteAt(e.target);
  if (i >= 0 && i !== focusByte) {
    focusByte = i;
    updateSelection();
  }
});
window.addEventListener('mouseup', () => { dragging = false; });
hexViewport.addEventListener('keydown', (e) => {
  if (!detail || detail.data.length === 0) return;
  const n = detail.data.length;
  const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -BYTES_PER_LINE, ArrowDown: BYTES_PER_LINE,
    PageUp: -BYTES_PER_LINE * hexList.visibleRows, PageDown: BYTES_PER_LINE * hexList.visibleRows };
  let next: number | undefined;
  if (e.key in moves) next = Math.max(0, Math.min(n - 1, (focusByte < 0 ? 0 : focusByte) + moves[e.key]));
  else if (e.key === 'Home') next = e.ctrlKey ? 0 : Math.floor(Math.max(focusByte, 0) / BYTES_PER_LINE) * BYTES_PER_LINE;
  else if (e.key === 'End') next = e.ctrlKey ? n - 1 : Math.min(n - 1, Math.floor(Math.max(focusByte, 0) / BYTES_PER_LINE) * BYTES_PER_LINE + BYTES_PER_LINE - 1);
  else if (e.key === 'a' && (e.ctrlKey || e.metaKey)) { anchor = 0; focusByte = n - 1; updateSelection(); e.preventDefault(); return; }
  else if (e.key === 'c' && (e.ctrlKey || e.metaKey)) { copy('hex'); e.preventDefault(); return; }
  else if (e.key === 'Escape') { listViewport.focus(); return; }
  if (next === undefined) return;
  e.preventDefault();
  if (!e.shiftKey || anchor < 0) anchor = next;
  focusByte = next;
  hexList.reveal(Math.floor(next / BYTES_PER_LINE));
  updateSelection();
});

function updateSelection(): void {
  hexList.invalidate();
  hexList.renderNow();
  const range = selectionRange();
  const info = $('selectionInfo');
  if (!detail) info.textContent = '';
  else if (!range) info.textContent = `${detail.data.length} bytes${detail.data.length < detail.length ? ` of ${detail.length} (observer copy truncated)` : ''}`;
  else {
    const count = range[1] - range[0] + 1;
    info.textContent = `Selected 0x${range[0].toString(16)}–0x${range[1].toString(16)} (${count} byte${count === 1 ? '' : 's'}, offsets ${range[0]}–${range[1]}) of ${detail.data.length}`;
  }
}

function renderText(): void {
  const view = $('textView');
  view.textContent = '';
  if (!detail) return;
  const data = detail.data.length > TEXT_RENDER_LIMIT ? detail.data.subarray(0, TEXT_RENDER_LIMIT) : detail.data;
  const fragment = document.createDocumentFragment();
  for (const segment of decodeUtf8Visible(data, state.showLineEndings)) {
    if (segment.kind === 'text') {
      fragment.append(segment.text);
    } else {
      const span = document.createElement('span');
      span.className = segment.kind;
      if (segment.kind === 'eol' && state.showLineEndings) {
        const mark = document.createElement('span');
        mark.className = 'eol-mark';
        mark.textContent = segment.text.slice(0, -1);
        span.append(mark, '\n');
      } else {
        span.textContent = segment.text;
      }
      if (segment.kind === 'invalid') span.title = `byte ${segment.offset}: not UTF-8`;
      fragment.append(span);
    }
  }
  if (data.length < detail.data.length) {
    const more = document.createElement('span');
    more.className = 'notice-inline';
    more.textContent = `\n… ${detail.data.length - data.length} more bytes: open in an editor to see all`;
    fragment.append(more);
  }
  view.append(fragment);
}

function showTab(tab: DetailTab): void {
  if (tab === 'json' && !detail?.json) tab = 'text';
  state.detailTab = tab;
  persist();
  for (const t of ['hex', 'text', 'json'] as const) {
    const button = $(`tab-${t}`);
    button.setAttribute('aria-selected', String(t === tab));
    button.classList.toggle('active', t === tab);
  }
  ($('tab-json') as HTMLButtonElement).disabled = !detail?.json;
  hexViewport.hidden = tab !== 'hex';
  $('textView').hidden = tab !== 'text';
  $('jsonView').hidden = tab !== 'json';
  if (tab === 'hex') hexList.invalidate();
}

function showDetail(message: Extract<HostToWebview, { type: 'detail' }>): void {
  const data = toBytes(message.data);
  const json = prettyJson(data);
  const sameMessage = detail?.seq === message.seq;
  detail = { seq: message.seq, data, length: message.length, row: message.row, json };
  if (!sameMessage) { anchor = -1; focusByte = -1; }
  const r = message.row;
  $('detailTitle').textContent = `#${r.seq} · ${r.dir ? directionLabel(r.dir) : ''} · ${message.length} bytes · ${new Date(r.t).toLocaleTimeString()}`;
  hexList.setCount(Math.ceil(data.length / BYTES_PER_LINE));
  if (!sameMessage) hexViewport.scrollTop = 0;
  renderText();
  $('jsonView').textContent = json ?? '';
  setDetailEnabled(true);
  showTab(state.detailTab);
  updateSelection();
}

function clearDetail(text: string): void {
  detail = undefined;
  anchor = focusByte = -1;
  $('detailTitle').textContent = text;
  hexList.setCount(0);
  $('textView').textContent = '';
  $('jsonView').textContent = '';
  setDetailEnabled(false);
  updateSelection();
}

function setDetailEnabled(enabled: boolean): void {
  for (const id of ['copyText', 'copyHex', 'copyBase64', 'openEditor', 'saveBytes']) ($(id) as HTMLButtonElement).disabled = !enabled;
}

function copy(format: CopyFormat): void {
  if (!detail) return;
  const range = selectionRange();
  post({ type: 'copy', seq: detail.seq, format, ...(range ? { start: range[0], end: range[1] + 1 } : {}) });
}

function focusDetail(): void {
  const target = state.detailTab === 'hex' ? hexViewport : state.detailTab === 'text' ? $('textView') : $('jsonView');
  target.focus();
}

for (const t of ['hex', 'text', 'json'] as const) $(`tab-${t}`).addEventListener('click', () => showTab(t));
const showEol = $<HTMLInputElement>('showEol');
showEol.checked = state.showLineEndings;
showEol.addEventListener('change', () => { state.showLineEndings = showEol.checked; persist(); renderText(); });
$('copyText').addEventListener('click', () => copy('text'));
$('copyHex').addEventListener('click', () => copy('hex'));
$('copyBase64').addEventListener('click', () => copy('base64'));
$('openEditor').addEventListener('click', () => {
  if (!detail) return;
  const format: EditorFormat = state.detailTab === 'json' && detail.json ? 'json' : state.detailTab === 'hex' ? 'hex' : 'text';
  post({ type: 'openInEditor', seq: detail.seq, format });
});
$('saveBytes').addEventListener('click', () => { if (detail) post({ type: 'saveBytes', seq: detail.seq }); });

// ---- send box -----------------------------------------------------------------------------------------------
const sendInput = $<HTMLTextAreaElement>('sendInput');
const sendFormat = $<HTMLSelectElement>('sendFormat');
const lineEnding = $<HTMLSelectElement>('lineEnding');
sendFormat.value = state.sendFormat;
lineEnding.value = state.lineEnding;
let historyPosition = state.history.length;
let draft = '';
let sending = false;

function updateSendControls(): void {
  lineEnding.disabled = sendFormat.value !== 'text';
}
sendFormat.addEventListener('change', () => { state.sendFormat = sendFormat.value as SendFormat; persist(); updateSendControls(); });
lineEnding.addEventListener('change', () => { state.lineEnding = lineEnding.value as LineEnding; persist(); });
updateSendControls();

function doSend(): void {
  if (sending) return;
  sending = true;
  $('sendError').textContent = '';
  post({ type: 'send', format: sendFormat.value as SendFormat, input: sendInput.value, lineEnding: lineEnding.value as LineEnding });
}
$('send').addEventListener('click', doSend);
$('sendFile').addEventListener('click', () => post({ type: 'sendFile' }));
sendInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    doSend();
    return;
  }
  const value = sendInput.value;
  const onFirstLine = !value.slice(0, sendInput.selectionStart).includes('\n');
  const onLastLine = !value.slice(sendInput.selectionEnd).includes('\n');
  if (e.key === 'ArrowUp' && onFirstLine && historyPosition > 0) {
    if (historyPosition === state.history.length) draft = value;
    historyPosition--;
    sendInput.value = state.history[historyPosition];
    e.preventDefault();
  } else if (e.key === 'ArrowDown' && onLastLine && historyPosition < state.history.length) {
    historyPosition++;
    sendInput.value = historyPosition === state.history.length ? draft : state.history[historyPosition];
    e.preventDefault();
  }
});

function onSendResult(ok: boolean, message: string | undefined): void {
  sending = false;
  if (ok) {
    const value = sendInput.value;
    if (value !== '' && state.history[state.history.length - 1] !== value) state.history.push(value);
    if (state.history.length > HISTORY_LIMIT) state.history.splice(0, state.history.length - HISTORY_LIMIT);
    historyPosition = state.history.length;
    draft = '';
    sendInput.value = '';
    persist();
  } else {
    $('sendError').textContent = message ?? 'Send failed';
  }
}

// ---- statistics ---------------------------------------------------------------------------------------------
function renderStats(stats: StatsSnapshot): void {
  lastStats = stats;
  const footer = $('stats');
  footer.textContent = '';
  const add = (className: string, icon: string | undefined, text: string, title?: string): void => {
    const span = document.createElement('span');
    span.className = className;
    if (icon) {
      const i = document.createElement('span');
      i.className = `codicon ${icon}`;
      span.append(i, ' ');
    }
    span.append(text);
    if (title) span.title = title;
    footer.appendChild(span);
  };
  for (const d of stats.directions) {
    const queue = d.capacity !== undefined ? ` · queue ${d.queued ?? 0}/${d.capacity}` : '';
    add(`stat ${isOutbound(d.direction) ? 'out' : 'in'}`, directionIcon(d.direction),
      `${directionLabel(d.direction)}: ${d.messages.toLocaleString()} msgs, ${formatBytes(d.bytes)} · ${d.messagesPerSecond.toFixed(0)} msg/s, ${formatBytes(Math.round(d.bytesPerSecond))}/s${queue}`);
  }
  const pid = (label: string, value: number | undefined, alive: boolean | undefined): string =>
    `${label} ${value && value > 0 ? value : '—'}${value && value > 0 && alive === false ? ' (dead)' : ''}`;
  add('stat', 'codicon-server-process', `${pid('server', stats.serverPid, stats.serverAlive)} · ${pid('client', stats.clientPid, stats.clientAlive)}`);
  add('stat', 'codicon-list-flat', `kept ${stats.retained.toLocaleString()}/${stats.maxMessages.toLocaleString()} (${formatBytes(stats.retainedBytes)})${stats.dropped > 0 ? `, dropped ${stats.dropped.toLocaleString()}` : ''}`);
  const stateBadge = $('state');
  stateBadge.textContent = stats.state;
  stateBadge.className = `badge state-${stats.state}`;
  updateDropped(stats.dropped);
}

// ---- host messages --------------------------------------------------------------------------------------------
window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
  const message = event.data;
  switch (message.type) {
    case 'target': {
      const modeChanged = mode !== message.mode;
      mode = message.mode;
      state.target = { name: message.name, mode: message.mode };
      if (state.captureId !== message.captureId) {
        // A new capture (the window was reloaded): the saved selection named a message of the old one.
        state.captureId = message.captureId;
        state.selectedSeq = undefined;
        selectedIndex = -1;
      }
      if (modeChanged) state.filter = { ...state.filter, directions: [] };
      persist();
      $('title').textContent = message.name;
      $('mode').textContent = message.mode === 'peer' ? 'peer' : 'observer (read-only)';
      $('sendBox').hidden = !message.canSend;
      document.title = `sipc: ${message.name}`;
      renderDirectionFilters();
      break;
    }
    case 'reset':
    case 'append':
      applyRows(message);
      break;
    case 'detail':
      showDetail(message);
      break;
    case 'detailMissing':
      if (message.seq === state.selectedSeq) clearDetail(`Message #${message.seq} is no longer retained`);
      break;
    case 'stats':
      renderStats(message.stats);
      break;
    case 'filterResult':
      $('filterError').textContent = message.error ?? '';
      filterHex.classList.toggle('invalid', message.error !== undefined);
      break;
    case 'sendResult':
      onSendResult(message.ok, message.message);
      break;
    case 'paused':
      showPaused(message.paused);
      break;
  }
});

document.addEventListener('keydown', (e) => {
  const inField = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLSelectElement;
  if (e.key === 'Escape' && inField) listViewport.focus();
});

renderDirectionFilters();
updateTimeHeader();
showPaused(false);
setFollow(true);
clearDetail('Select a message');
showTab(state.detailTab);
listViewport.focus();
post({ type: 'ready' });
post({ type: 'filter', spec: state.filter });
