// The inspector webview: message list, detail (hex/text/JSON), filters, send box, statistics — one component per
// module, wired here. The extension host owns the capture; this page shows the rows it is pushed and requests a
// message's bytes when one is selected (requests and replies: ../shared/protocol.ts).
// UI state (filter, selection, send history...) lives in the webview state so it survives hide/show and reload.
import type { HostToWebview, InspectorMode } from '../shared/protocol';
import { Columns } from './columns';
import { DetailPane } from './detailPane';
import { PlotPane } from './plotPane';
import { SendForm } from './sendForm';
import { FieldColumns } from './fieldColumns';
import { Filters, directionsForMode } from './filters';
import type { Direction } from '../shared/model';
import { decodeRows } from '../shared/rowBatch';
import { host, listenToHost } from './host';
import { $, renderMarkup } from './markup';
import { MessageList, type RowsMessage } from './messageList';
import { SendBox } from './sendBox';
import { persist, state } from './state';
import { StatsBar } from './statsBar';
import { Toolbar } from './toolbar';

renderMarkup(document.getElementById('app') as HTMLDivElement);

let mode: InspectorMode = state.target?.mode ?? 'peer';
let fileDirections: readonly Direction[] | undefined;
const stats = new StatsBar();
new Columns();
const filters = new Filters({ next: () => list.selectMatch(1), previous: () => list.selectMatch(-1) });
const sendBox = new SendBox();
const sendForm = new SendForm((hex) => sendBox.sendHex(hex));
// The list and the detail pane refer to each other through callbacks, which run only after both exist.
const plot = new PlotPane();
const fieldColumns = new FieldColumns();
const detail = new DetailPane(() => list.focus(), (t) => list.formatTime(t), plot, fieldColumns);
const toolbar = new Toolbar(() => {
  list.redraw();
  detail.renderTitle();
});
const list = new MessageList({
  selected: (seq, changed) => void detail.load(seq, changed),
  openDetail: () => detail.focus(),
  togglePause: () => void toolbar.togglePause(),
  focusFilter: () => filters.focus(),
  counted: (matches, retained) => filters.showCount(matches, retained),
  copy: (seq, format) => host.notify({ type: 'copy', seq, format }),
});

function onTarget(message: Extract<HostToWebview, { type: 'target' }>): void {
  const modeChanged = mode !== message.mode;
  mode = message.mode;
  fileDirections = message.directions;
  state.target = { name: message.name, mode: message.mode };
  state.spillId = message.spillId;
  // A new capture (the window was reloaded): the saved selection named a message of the old one.
  if (state.captureId !== message.captureId) {
    state.captureId = message.captureId;
    list.forgetSelection();
  }
  if (modeChanged) state.filter = { ...state.filter, directions: [] };
  persist();
  $('title').textContent = message.name;
  // Peer mode names this window's side of the channel (known once it is open); an observer has no side.
  $('mode').textContent = message.mode === 'observer' ? 'observer (read-only)' : message.mode === 'file' ? 'capture file (read-only)' : message.role ?? 'peer';
  sendBox.visible = message.canSend;
  toolbar.showLossless(message.lossless);
  state.lossless = message.lossless;
  // An opened file gets no new entries: nothing to record.
  $('record').hidden = message.mode === 'file';
  document.title = `sipc: ${message.name}`;
  filters.renderDirections(mode, fileDirections);
  plot.setDirections([...directionsForMode(mode, fileDirections)]);
}

function onRows(message: RowsMessage): void {
  list.apply(message);
  if (message.retained === 0 && !detail.isEmpty) detail.clear('Select a message');
  // After a reset (the panel shown again, a new filter) the selection's bytes are fetched anew if not shown.
  const selected = list.selectedSeq;
  if (message.type === 'reset' && selected !== undefined) void detail.load(selected, false);
  stats.showDropped(message.dropped);
}

listenToHost((message) => {
  switch (message.type) {
    case 'target': return onTarget(message);
    case 'reset':
    case 'append': return onRows({ ...message, rows: decodeRows(message.rows) });
    case 'stats': return stats.render(message.stats);
    case 'recording': return toolbar.showRecording(message.file);
    case 'plot': return plot.apply(message);
    case 'schema': {
      detail.fields.setSchema(message.description, message.source, message.error);
      filters.showFieldFilter(message.description !== undefined);
      if (message.description !== undefined && plot.plotted.length > 0) void plot.setPaths(plot.plotted);
      sendForm.setAvailable(message.form === true);
      if (message.description !== undefined) void fieldColumns.set(fieldColumns.shown);
      else document.querySelector('.list')?.classList.remove('with-fields');
      // The fields of the message on show were decoded with the previous schema.
      const selected = list.selectedSeq;
      if (selected !== undefined) void detail.load(selected, true);
      return;
    }
  }
});

document.addEventListener('keydown', (e) => {
  const inField = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLSelectElement;
  if (e.key === 'Escape' && inField) list.focus();
});

filters.renderDirections(mode);
list.setFollow(true);
list.focus();
void host.request({ type: 'ready' }).then((reply) => toolbar.showPaused(reply.paused));
void filters.apply(state.filter);
