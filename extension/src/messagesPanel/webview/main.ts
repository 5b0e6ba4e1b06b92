// The messages panel page: a tab per connection, its lines as they arrive (time, direction, text or hex), a
// one-line send box and a link to the inspector. The log follows new lines until the user scrolls up, and follows
// again once the user scrolls back to the bottom; lines arriving or being trimmed never change that.
import { formatTime } from '../../inspector/webview/format';
import { Requester } from '../../inspector/shared/messaging';
import type {
  ConnectionSummary, HostToMessagesPanel, HostToMessagesPanelEnvelope, MessagesPanelEnvelope, MessagesPanelNotification,
  MessagesPanelRequests, PanelSendFormat, StreamLine,
} from '../protocol';

interface VsCodeApi {
  postMessage(message: MessagesPanelEnvelope): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
const vscodeApi = acquireVsCodeApi();
const host = new Requester<MessagesPanelRequests, MessagesPanelNotification>((envelope) => vscodeApi.postMessage(envelope));

/** Lines drawn per connection; older ones leave the page (the inspector keeps the full capture). */
const MAX_DRAWN_LINES = 2000;

interface SavedState { selected?: string; format?: PanelSendFormat }
const saved = (vscodeApi.getState() ?? {}) as SavedState;
const state: SavedState = { selected: saved.selected, format: saved.format === 'hex' ? 'hex' : 'text' };
const persist = (): void => vscodeApi.setState(state);

const app = document.getElementById('app') as HTMLDivElement;
app.innerHTML = `
<div id="empty" class="empty">No connections in this window.
  <a href="#" id="connectLink"><span class="codicon codicon-plug"></span> Connect to Channel…</a></div>
<div id="main" hidden>
  <div class="tabs" role="tablist" id="tabs" aria-label="Connections"></div>
  <div class="bar">
    <span id="info" class="info"></span>
    <span class="spacer"></span>
    <button id="follow" class="icon" title="Follow new messages" aria-pressed="true"><span class="codicon codicon-arrow-down"></span></button>
    <button id="clear" class="icon" title="Clear this connection's lines"><span class="codicon codicon-clear-all"></span></button>
    <a href="#" id="inspectorLink" title="All messages, hex view, filters and export"><span class="codicon codicon-inspect"></span> Open in Inspector</a>
  </div>
  <div id="log" class="log" tabindex="0" role="log" aria-live="off" aria-label="Messages"></div>
  <form id="sendForm" class="send">
    <select id="format" aria-label="Input format"><option value="text">Text</option><option value="hex">Hex</option></select>
    <input id="input" type="text" placeholder="Message — Enter sends" aria-label="Message to send" spellcheck="false" autocomplete="off">
    <button id="send" type="submit" title="Send (Enter)"><span class="codicon codicon-send"></span> Send</button>
    <span id="error" class="error" role="alert"></span>
  </form>
</div>`;
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

let connections: ConnectionSummary[] = [];
const lines = new Map<string, StreamLine[]>();
const logEl = $('log');
let following = true;
let wheelPending = false;
let dragging = false;

function atBottom(): boolean {
  return logEl.scrollTop + logEl.clientHeight >= logEl.scrollHeight - 4;
}

function setFollow(value: boolean): void {
  following = value;
  $('follow').setAttribute('aria-pressed', String(value));
  $('follow').classList.toggle('active', value);
  if (value) logEl.scrollTop = logEl.scrollHeight;
}

logEl.addEventListener('wheel', (e) => {
  if (e.deltaY < 0) setFollow(false);
  else wheelPending = true;
}, { passive: true });
logEl.addEventListener('pointerdown', (e) => { if (e.target === logEl) dragging = true; });
window.addEventListener('pointerup', () => { dragging = false; });
logEl.addEventListener('keydown', (e) => {
  if (['ArrowUp', 'PageUp', 'Home'].includes(e.key)) setFollow(false);
  else if (e.key === 'End') setFollow(true);
});
logEl.addEventListener('scroll', () => {
  if (!dragging && !wheelPending) return;
  wheelPending = false;
  if (atBottom() !== following) setFollow(atBottom());
});
new ResizeObserver(() => { if (following) logEl.scrollTop = logEl.scrollHeight; }).observe(logEl);
$('follow').addEventListener('click', () => setFollow(!following));

function lineElement(line: StreamLine): HTMLElement {
  const row = document.createElement('div');
  row.className = `line ${line.dir === 'sent' ? 'out' : 'in'} ${line.kind}`;
  row.dataset.seq = String(line.seq);
  const time = document.createElement('span');
  time.className = 't';
  time.textContent = formatTime(line.t, 'absolute', line.t);
  const dir = document.createElement('span');
  dir.className = `codicon ${line.dir === 'sent' ? 'codicon-arrow-up' : 'codicon-arrow-down'}`;
  dir.title = line.dir === 'sent' ? 'sent' : 'received';
  const text = document.createElement('span');
  text.className = 'd';
  text.textContent = line.text;
  row.title = `${line.dir}, ${line.len} bytes${line.kind === 'hex' ? ', shown as hex' : ''}`;
  row.append(time, dir, text);
  return row;
}

/**
 * Removes the oldest drawn lines beyond MAX_DRAWN_LINES in one step. Measuring each line as it left forced a layout
 * per line: 2,000 layouts of the whole log for a batch of 2,000 lines, which during a flood froze the page.
 * What the user reads stays in place by the browser's scroll anchoring (a manual correction on top moved it).
 */
function trimDrawn(): void {
  const excess = logEl.childElementCount - MAX_DRAWN_LINES;
  if (excess <= 0) return;
  const oldest = document.createRange();
  oldest.setStartBefore(logEl.firstElementChild as Element);
  oldest.setEndAfter(logEl.children[excess - 1]);
  oldest.deleteContents();
}

function drawSelected(): void {
  logEl.textContent = '';
  const shown = state.selected === undefined ? [] : lines.get(state.selected) ?? [];
  const fragment = document.createDocumentFragment();
  for (const line of shown.slice(-MAX_DRAWN_LINES)) fragment.append(lineElement(line));
  logEl.append(fragment);
  if (following) logEl.scrollTop = logEl.scrollHeight;
}

/** A line saying that a flood went faster than the panel draws (the inspector keeps every message). */
function skippedLine(count: number): HTMLElement {
  const row = document.createElement('div');
  row.className = 'line skipped';
  row.textContent = `… ${count.toLocaleString()} messages not shown here (too fast to draw): Open in Inspector has them all`;
  return row;
}

function onLines(name: string, added: readonly StreamLine[], reset: boolean, skipped: number): void {
  const kept = reset ? [] : lines.get(name) ?? [];
  for (const line of added) kept.push(line);
  if (kept.length > MAX_DRAWN_LINES) kept.splice(0, kept.length - MAX_DRAWN_LINES);
  lines.set(name, kept);
  if (name !== state.selected) return;
  if (reset) return drawSelected();
  const fragment = document.createDocumentFragment();
  if (skipped > 0) fragment.append(skippedLine(skipped));
  for (const line of added.slice(-MAX_DRAWN_LINES)) fragment.append(lineElement(line));
  logEl.append(fragment);
  trimDrawn();
  if (following) logEl.scrollTop = logEl.scrollHeight;
}

function renderTabs(): void {
  const tabs = $('tabs');
  tabs.textContent = '';
  for (const c of connections) {
    const tab = document.createElement('button');
    tab.className = `tab state-${c.state}`;
    tab.setAttribute('role', 'tab');
    tab.setAttribute('aria-selected', String(c.name === state.selected));
    tab.dataset.name = c.name;
    const dot = document.createElement('span');
    dot.className = 'codicon codicon-circle-filled dot';
    tab.append(dot, c.name);
    tab.title = `${c.name}: ${c.role}, ${c.state}`;
    tab.addEventListener('click', () => select(c.name));
    tabs.append(tab);
  }
  const current = connections.find((c) => c.name === state.selected);
  $('info').textContent = current ? `${current.role} · ${current.state}` : '';
}

function select(name: string): void {
  if (state.selected === name) return;
  state.selected = name;
  persist();
  following = true;
  setFollow(true);
  renderTabs();
  drawSelected();
}

function onConnections(list: readonly ConnectionSummary[]): void {
  connections = [...list];
  for (const name of [...lines.keys()]) if (!connections.some((c) => c.name === name)) lines.delete(name);
  $('empty').hidden = connections.length > 0;
  $('main').hidden = connections.length === 0;
  if (!connections.some((c) => c.name === state.selected)) {
    state.selected = connections.at(-1)?.name;
    persist();
    drawSelected();
  }
  renderTabs();
}

const formatSelect = $<HTMLSelectElement>('format');
const input = $<HTMLInputElement>('input');
formatSelect.value = state.format ?? 'text';
formatSelect.addEventListener('change', () => { state.format = formatSelect.value as PanelSendFormat; persist(); });
$('sendForm').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = state.selected;
  if (name === undefined || input.value === '') return;
  const sentInput = input.value;
  $('error').textContent = '';
  void host.request({ type: 'send', name, format: formatSelect.value as PanelSendFormat, input: sentInput }).then((reply) => {
    if (reply.ok) {
      if (input.value === sentInput) input.value = '';
    } else {
      $('error').textContent = reply.message;
    }
  }, (error: unknown) => { $('error').textContent = error instanceof Error ? error.message : String(error); });
});
$('inspectorLink').addEventListener('click', (e) => {
  e.preventDefault();
  if (state.selected !== undefined) host.notify({ type: 'openInspector', name: state.selected });
});
$('connectLink').addEventListener('click', (e) => {
  e.preventDefault();
  host.notify({ type: 'connect' });
});
$('clear').addEventListener('click', () => { if (state.selected !== undefined) host.notify({ type: 'clear', name: state.selected }); });

function onPush(message: HostToMessagesPanel): void {
  switch (message.type) {
    case 'connections': return onConnections(message.connections);
    case 'lines': return onLines(message.name, message.lines, message.reset, message.skipped ?? 0);
  }
}

window.addEventListener('message', (event: MessageEvent<HostToMessagesPanelEnvelope>) => {
  const envelope = event.data;
  if (envelope.inReplyTo !== undefined) host.settle(envelope);
  else onPush(envelope.body);
});
void host.request({ type: 'ready' });
