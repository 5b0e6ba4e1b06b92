// One inspector panel: a capture fed by a source, shown in a webview. The capture lives here, in the extension
// host, so hiding the panel costs nothing (no retainContextWhenHidden) and the webview redraws from it on show.
import * as vscode from 'vscode';
import { describeError as describe } from '../../errors';
import { decodeUtf8, decodeUtf8Visible, encodeUtf8, hexDumpText, prettyJson, toBase64, toHex } from '../shared/bytes';
import { Capture, ViewFeed, type RetentionLimits } from '../shared/capture';
import { CaptureEncoder, type CaptureFormat } from '../shared/captureFormat';
import type { CaptureEntry } from '../shared/model';
import { ENTRIES_PER_TURN, writeCaptureFile } from './captureFile';
import { promises as fsp } from 'node:fs';
import { basename } from 'node:path';
import { answerRequest, Responder, type RequestHandlers } from '../shared/messaging';
import {
  isRequest, parseWebviewEnvelope, type CopyFormat, type DetailReply, type DirectionStats, type EditorFormat, type ExportFormat,
  type HostEnvelope, type HostToWebview, type InspectorMode, type InspectorNotification, type InspectorReply, type InspectorRequests,
  type LineEnding, type SendFormat, type SendReply, type StatsSnapshot,
} from '../shared/protocol';
import { encodeSendInput } from '../shared/send';
import { SEND_FILE_COMMAND } from '../../sending/commands/sendFile';
import type { ChannelInfo } from '../../api';
import { activeDebuggees } from '../../debugging/debuggees';
import { PeerDescriptions, isHalted, peerText } from '../../debugging/peerProcess';
import { cspNonce } from '../../webviewPage';
import { inspectorPage } from './page';
import { confirmSaved, defaultSaveUri, diskPath, rememberSaveFolder } from './saveLocation';
import type { CaptureSource } from './sources';
import type { SpillFile } from './spill';
import { RateMeter } from '../shared/stats';
import { decodedToWire } from '../shared/decoded';
import { PlotFeed } from '../shared/plot';
import type { ChannelSchema, WorkspaceSchemas } from '../../decode/workspaceSchemas';

export const INSPECTOR_VIEW_TYPE = 'sipc.inspector';
export const RECORD_TO_FILE_COMMAND = 'sipc.recordToFile';
export const STOP_RECORDING_COMMAND = 'sipc.stopRecording';
const STATS_INTERVAL_MS = 500;

/** What a panel restored after a reload starts with, and how a panel spills for the next reload. */
export interface SessionRestore {
  /** Entries read from the panel's spill of before the reload. */
  readonly earlier?: readonly CaptureEntry[];
  /** A new spill for the panel (undefined: restoring is off, or the panel is an opened file). */
  readonly makeSpill?: (target: InspectorTarget) => SpillFile | undefined;
}

export interface InspectorTarget {
  readonly mode: InspectorMode;
  readonly name: string;
}

export function targetKey(target: InspectorTarget): string {
  return `${target.mode}:${target.name}`;
}

/** The retention settings, clamped to sane ranges. */
export function readRetention(): RetentionLimits {
  const config = vscode.workspace.getConfiguration('sipc.inspector');
  const clamp = (value: unknown, fallback: number, min: number, max: number): number =>
    typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, Math.floor(value))) : fallback;
  return {
    maxMessages: clamp(config.get('retainedMessages'), 100_000, 100, 1_000_000),
    maxBytes: clamp(config.get('retainedMegabytes'), 256, 1, 8192) * 1024 * 1024,
  };
}

export function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

export class InspectorSession implements vscode.Disposable {
  readonly capture: Capture;
  private readonly feed: ViewFeed;
  private readonly source: CaptureSource;
  private readonly captureId = cspNonce();
  private readonly responder = new Responder<HostToWebview, InspectorReply>((envelope) => this.post(envelope));
  /** The answer to each request of the webview (see InspectorRequests). */
  private readonly requests: RequestHandlers<InspectorRequests> = {
    ready: () => {
      this.postTarget();
      this.postSchema();
      this.responder.push({ type: 'recording', ...(this.recordingFile ? { file: this.recordingFile } : {}) });
      this.feed.attach();
      this.startStats();
      return { paused: this.feed.isPaused };
    },
    select: (request) => this.detail(request.seq),
    filter: (request) => {
      try {
        this.feed.setFilter(request.spec);
        return {};
      } catch (error) {
        return { error: describe(error) };
      }
    },
    pause: (request) => {
      this.feed.setPaused(request.paused);
      return { paused: this.feed.isPaused };
    },
    send: (request) => this.sendInput(request.format, request.input, request.lineEnding),
    lossless: async (request) => {
      if (!this.source.setLossless) return { lossless: false, error: 'only an observer panel observes losslessly' };
      try {
        await this.source.setLossless(request.on);
        return { lossless: this.source.lossless === true };
      } catch (error) {
        return { lossless: this.source.lossless === true, error: describe(error) };
      }
    },
    form: (request) => {
      const form = this.channelSchema.kind === 'schema' ? this.channelSchema.schema.form : undefined;
      if (!form) return { types: [], fields: [], defaults: {}, error: 'this channel has no C-struct schema to fill in' };
      const messageType = request.messageType !== undefined && form.types.includes(request.messageType) ? request.messageType : form.types[0];
      return { types: form.types, messageType, fields: form.fields(messageType), defaults: form.defaults(messageType) };
    },
    encode: (request) => {
      const form = this.channelSchema.kind === 'schema' ? this.channelSchema.schema.form : undefined;
      if (!form) return { error: 'this channel has no C-struct schema to fill in' };
      try {
        return { hex: toHex(form.encode(request.messageType, request.values)) };
      } catch (error) {
        return { error: describe(error) };
      }
    },
    columns: (request) => {
      if (request.paths.length > 0 && this.channelSchema.kind !== 'schema') return { error: 'this channel has no schema to show fields of' };
      this.feed.setColumns(request.paths);
      return {};
    },
    plot: (request) => {
      this.plotPaths = request.paths;
      if (request.paths.length > 0 && this.channelSchema.kind !== 'schema') return { error: 'this channel has no schema to plot fields of' };
      this.plot.set(request.paths, this.channelSchema.kind === 'schema' ? this.channelSchema.schema : undefined);
      return {};
    },
  };
  private readonly rates = new RateMeter();
  /** The holders' names and states, described off the main thread; the stats posted next show what arrived. */
  private readonly peerDescriptions = new PeerDescriptions();
  /** None until the workspace's files were read (refreshSchema). */
  private channelSchema: ChannelSchema = { kind: 'none' };
  /** Counts refreshSchema calls: only the latest one's result is shown. */
  private schemaRequests = 0;
  private readonly plot: PlotFeed;
  private plotPaths: readonly string[] = [];
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private lastPostedStats: StatsSnapshot | undefined;
  private recordingFile: string | undefined;
  private readonly makeSpill: ((target: InspectorTarget) => SpillFile | undefined) | undefined;
  private spill: SpillFile | undefined;
  private spillSubscription: (() => void) | undefined;
  /** The channel whose schema is loaded. */
  private schemaChannel: string | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private disposed = false;
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;

  constructor(
    readonly target: InspectorTarget,
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    makeSource: (capture: Capture) => CaptureSource,
    private readonly schemas?: WorkspaceSchemas,
    restore: SessionRestore = {},
  ) {
    this.capture = new Capture(readRetention());
    this.feed = new ViewFeed(this.capture, (message) => this.responder.push(message));
    this.makeSpill = restore.makeSpill;
    this.startSpill();
    // What the panel showed before the window reloaded (from its old spill), before anything new arrives.
    const earlier = restore.earlier ?? [];
    if (earlier.length > 0) {
      for (const entry of earlier) this.capture.addEntry(entry);
      this.capture.addEvent('restored', `${earlier.length} entries above are from before the window reloaded`, Date.now());
    }
    this.source = makeSource(this.capture);
    this.plot = new PlotFeed(this.capture, (push) => this.responder.push(push));
    void this.refreshSchema();
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'media'), vscode.Uri.joinPath(extensionUri, 'extension', 'media')],
    };
    panel.title = target.mode === 'file' ? `Capture: ${basename(target.name)}` : `${target.mode === 'peer' ? 'Inspect' : 'Observe'}: ${target.name}`;
    panel.webview.html = this.html(panel.webview);
    this.subscriptions.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw)),
      panel.onDidChangeViewState(() => this.onVisibility()),
      panel.onDidDispose(() => this.dispose()),
      ...(schemas ? [schemas.onDidChange(() => void this.refreshSchema({ replot: true }))] : []),
      this.source.onDidChange(() => {
        this.postTarget();
        // An opened file names its channel once its first bytes were read: its schema applies from then on.
        if (target.mode === 'file' && this.source.channel !== this.schemaChannel) void this.refreshSchema();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('sipc.inspector')) return;
        this.capture.setLimits(readRetention());
        this.feed.reset();
      }),
    );
  }

  /** Streams every entry of the capture to a new spill file (when restoring is on), named in the page's state. */
  private startSpill(): void {
    this.spillSubscription?.();
    const spill = this.makeSpill?.(this.target);
    this.spill = spill;
    this.spillSubscription = spill ? this.capture.onAppend((entry) => spill.write(entry)) : undefined;
  }

  reveal(): void {
    this.panel.reveal();
  }

  /** The file this panel records to (Record to File…), or none: the page's Record button follows it. */
  showRecording(file: string | undefined): void {
    this.recordingFile = file;
    this.responder.push({ type: 'recording', ...(file ? { file } : {}) });
  }

  /** Closes the panel. `keepSpill`: the extension is going away and the panel may be restored, so its spill stays. */
  dispose(keepSpill = false): void {
    if (this.disposed) return;
    this.disposed = true;
    this.spillSubscription?.();
    if (keepSpill) void this.spill?.close();
    else void this.spill?.remove();
    this.stopStats();
    this.plot.dispose();
    this.feed.dispose();
    this.source.dispose();
    this.subscriptions.forEach((s) => s.dispose());
    this.panel.dispose();
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
  }

  private post(envelope: HostEnvelope): void {
    if (this.disposed) return;
    void this.panel.webview.postMessage(envelope).then(undefined, (error: unknown) =>
      this.log.warn(`inspector: posting to the webview of ${this.target.name} failed: ${describe(error)}`));
  }

  /**
   * Loads the channel's schema from the workspace (its files are read asynchronously) and shows it; a field filter
   * follows it, and with `replot` the plot too. The latest call wins: an older load that ends later is dropped.
   */
  private async refreshSchema(options: { replot?: boolean } = {}): Promise<void> {
    const request = ++this.schemaRequests;
    const channel = this.target.mode === 'file' ? this.source?.channel : this.target.name;
    this.schemaChannel = channel;
    const found: ChannelSchema = (channel !== undefined ? await this.schemas?.schemaFor(channel) : undefined) ?? { kind: 'none' };
    if (request !== this.schemaRequests || this.disposed) return;
    this.channelSchema = found;
    this.feed.setDecoder(found.kind === 'schema' ? found.schema : undefined);
    this.postSchema();
    if (options.replot) this.plot.set(this.plotPaths, found.kind === 'schema' ? found.schema : undefined);
  }

  private postSchema(): void {
    const s = this.channelSchema;
    this.responder.push(s.kind === 'schema' ? { type: 'schema', description: s.schema.description, source: s.source, form: s.schema.form !== undefined }
      : s.kind === 'error' ? { type: 'schema', error: s.message } : { type: 'schema' });
  }

  private postTarget(): void {
    const role = this.source.role();
    this.responder.push({
      type: 'target', name: this.target.name, mode: this.target.mode, canSend: this.source.canSend(), captureId: this.captureId,
      ...(role ? { role } : {}), ...(this.target.mode === 'file' ? { directions: [...this.source.directions] } : {}),
      ...(this.spill ? { spillId: this.spill.id } : {}),
      ...(this.source.lossless !== undefined ? { lossless: this.source.lossless } : {}),
    });
  }

  private onVisibility(): void {
    // The webview is destroyed while hidden; it says 'ready' again when shown and gets a fresh reset then.
    if (!this.panel.visible) {
      this.feed.detach();
      this.stopStats();
    }
  }

  private startStats(): void {
    this.stopStats();
    this.postStats();
    this.statsTimer = setInterval(() => this.postStats(), STATS_INTERVAL_MS);
  }

  private stopStats(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = undefined;
  }

  snapshot(): StatsSnapshot {
    const now = Date.now();
    const status = this.source.status();
    const directions: DirectionStats[] = this.source.directions.map((direction) => {
      const totals = this.capture.totalsFor(direction);
      const rate = this.rates.sample(direction, totals, now);
      const queue = status.queueOf(direction);
      return { direction, ...totals, ...rate, ...(queue ?? {}) };
    });
    const info = status.info;
    return {
      state: status.state,
      directions,
      ...(info ? this.peerProcesses(info) : {}),
      ...(info ? { serverPid: info.serverPid, clientPid: info.clientPid, serverAlive: info.serverAlive, clientAlive: info.clientAlive,
        maxMessageSize: info.maxMessageSize } : {}),
      ...(status.file ? { file: status.file } : {}),
      retained: this.capture.length,
      retainedBytes: this.capture.retainedBytes,
      dropped: this.capture.dropped,
      maxMessages: this.capture.limits.maxMessages,
    };
  }

  /** The holders' names, and which one is halted (paused in this window's debugger, or stopped). */
  private peerProcesses(info: ChannelInfo): Pick<StatsSnapshot, 'serverProcess' | 'clientProcess' | 'halted'> {
    this.peerDescriptions.holders([info.serverAlive ? info.serverPid : 0, info.clientAlive ? info.clientPid : 0]);
    const server = info.serverAlive ? this.peerDescriptions.peer(info.serverPid, activeDebuggees()) : undefined;
    const client = info.clientAlive ? this.peerDescriptions.peer(info.clientPid, activeDebuggees()) : undefined;
    const halted = isHalted(server) ? `server ${server?.activity}` : isHalted(client) ? `client ${client?.activity}` : undefined;
    return {
      ...(server ? { serverProcess: peerText(server) } : {}),
      ...(client ? { clientProcess: peerText(client) } : {}),
      ...(halted ? { halted } : {}),
    };
  }

  private postStats(): void {
    this.lastPostedStats = this.snapshot();
    this.responder.push({ type: 'stats', stats: this.lastPostedStats });
  }

  /** The statistics last sent to the page (its stats bar and state badge show them); undefined before the first. */
  get shownStats(): StatsSnapshot | undefined {
    return this.lastPostedStats;
  }

  private onMessage(raw: unknown): void {
    const envelope = parseWebviewEnvelope(raw);
    if (!envelope) {
      this.log.warn(`inspector: ignored a malformed message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    const message = envelope.body;
    const handled = isRequest(message)
      ? answerRequest(this.requests, envelope.messageId, message, this.responder)
      : this.handleNotification(message);
    void handled.catch((error: unknown) => {
      this.log.error(`inspector: ${message.type} failed: ${describe(error)}`);
      void vscode.window.showErrorMessage(`SIPC inspector: ${describe(error)}`);
    });
  }

  private async handleNotification(message: InspectorNotification): Promise<void> {
    switch (message.type) {
      case 'clear':
        this.capture.clear();
        // A reload must not bring back what the user cleared: the spill starts anew.
        void this.spill?.remove();
        this.startSpill();
        this.postTarget();
        this.rates.reset();
        this.postStats();
        return;
      case 'sendFile':
        return this.sendFile();
      case 'copy':
        return this.copy(message.seq, message.format, message.start, message.end);
      case 'openInEditor':
        return this.openInEditor(message.seq, message.format);
      case 'saveBytes':
        return this.saveBytes(message.seq);
      case 'export':
        return this.exportCapture(message.format, message.filtered);
      case 'record':
        await vscode.commands.executeCommand(RECORD_TO_FILE_COMMAND, { mode: this.target.mode, name: this.target.name });
        return;
      case 'stopRecording':
        await vscode.commands.executeCommand(STOP_RECORDING_COMMAND, { mode: this.target.mode, name: this.target.name });
        return;
    }
  }

  private entryBytes(entry: CaptureEntry): Uint8Array {
    return entry.kind === 'message' ? entry.data : encodeUtf8(`${entry.event}: ${entry.detail}`);
  }

  private detail(seq: number): DetailReply {
    const entry = this.capture.get(seq);
    if (!entry) return { found: false };
    // A copy of exactly the message's bytes: a Buffer may be a view into a larger pooled ArrayBuffer.
    const data = new Uint8Array(this.entryBytes(entry));
    const decoded = entry.kind === 'message' && this.channelSchema.kind === 'schema' ? decodedToWire(this.channelSchema.schema.decode(data)) : undefined;
    return { found: true, data, length: entry.kind === 'message' ? entry.length : data.length, row: this.capture.summarize(entry), ...(decoded ? { decoded } : {}) };
  }

  private requireEntry(seq: number): CaptureEntry {
    const entry = this.capture.get(seq);
    if (!entry) throw new Error(`message #${seq} is no longer retained`);
    return entry;
  }

  private async sendInput(format: SendFormat, input: string, lineEnding: LineEnding): Promise<SendReply> {
    try {
      await this.sendBytes(encodeSendInput(format, input, lineEnding));
      return { ok: true };
    } catch (error) {
      return { ok: false, message: describe(error) };
    }
  }

  private async sendBytes(data: Uint8Array): Promise<void> {
    const max = this.source.maxMessageSize();
    if (max !== undefined && data.byteLength > max) {
      throw new Error(`the message is ${data.byteLength} bytes; this channel takes at most ${max}`);
    }
    await this.source.send(data);
  }

  /** The one file-sending path is the Send File command's: the same checks, messages and errors as from the palette. */
  private async sendFile(): Promise<void> {
    await vscode.commands.executeCommand(SEND_FILE_COMMAND, { name: this.target.name });
  }

  private async copy(seq: number, format: CopyFormat, start?: number, end?: number): Promise<void> {
    const bytes = this.entryBytes(this.requireEntry(seq));
    const slice = start !== undefined ? bytes.subarray(start, end ?? bytes.length) : bytes;
    const text = format === 'hex' ? toHex(slice) : format === 'base64' ? toBase64(slice) : decodeUtf8(slice);
    await vscode.env.clipboard.writeText(text);
    vscode.window.setStatusBarMessage(`$(copy) SIPC: copied ${slice.byteLength} bytes as ${format}`, 3000);
  }

  private async openInEditor(seq: number, format: EditorFormat): Promise<void> {
    const bytes = this.entryBytes(this.requireEntry(seq));
    let content: string;
    let language = 'plaintext';
    if (format === 'json') {
      const json = prettyJson(bytes);
      if (json === undefined) throw new Error(`message #${seq} is not JSON`);
      content = json;
      language = 'json';
    } else if (format === 'hex') {
      content = hexDumpText(bytes);
    } else {
      content = decodeUtf8Visible(bytes, false).map((s) => s.text).join('');
    }
    const document = await vscode.workspace.openTextDocument({ content, language });
    await vscode.window.showTextDocument(document, { preview: false, viewColumn: vscode.ViewColumn.Beside });
  }

  private async saveBytes(seq: number): Promise<void> {
    const bytes = this.entryBytes(this.requireEntry(seq));
    const uri = await vscode.window.showSaveDialog({
      title: `Save message #${seq}`,
      defaultUri: defaultSaveUri(`${safeFileName(this.target.name)}-${seq}.bin`),
    });
    if (!uri) return;
    rememberSaveFolder(uri);
    await vscode.workspace.fs.writeFile(uri, bytes);
    confirmSaved(`SIPC: saved message #${seq} (${bytes.byteLength} bytes) to ${uri.fsPath}`, uri, false);
  }

  /** The entries to export: all retained, or the ones the list's filter shows. */
  private exportEntries(filtered: boolean): CaptureEntry[] {
    if (!filtered) return [...this.capture.entries()];
    return this.feed.matchingSeqs().map((seq) => this.capture.get(seq)).filter((e): e is CaptureEntry => e !== undefined);
  }

  /** The encoder of this panel's captures in `format` (exports, recordings). */
  encoder(format: CaptureFormat): CaptureEncoder {
    return new CaptureEncoder(format, { channel: this.source.channel ?? this.target.name, mode: this.target.mode,
      role: () => this.source.recordingRole() });
  }

  /** Streams the entries to the file chosen (never the whole file in memory); cancelling removes the partial file. */
  private async exportCapture(format: ExportFormat, filtered: boolean): Promise<void> {
    const entries = this.exportEntries(filtered);
    const extension = format === 'jsonl' ? 'jsonl' : 'pcapng';
    const uri = await vscode.window.showSaveDialog({
      title: `Export ${filtered ? 'the filtered rows' : 'the capture'} of ${this.target.name} as ${format === 'jsonl' ? 'JSON Lines' : 'pcapng'}`,
      defaultUri: defaultSaveUri(`${safeFileName(this.target.name)}.${extension}`),
      filters: format === 'jsonl' ? { 'JSON Lines': ['jsonl'] } : { 'pcapng (Wireshark)': ['pcapng'] },
    });
    if (!uri) return;
    const path = diskPath(uri);
    rememberSaveFolder(uri);
    const written = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, cancellable: true,
      title: `SIPC: exporting ${entries.length} entries of ${this.target.name}` }, async (progress, token) => {
      const result = await writeCaptureFile(path, this.encoder(format), entries,
        (done) => progress.report({ message: `${done} of ${entries.length}`, increment: (100 * ENTRIES_PER_TURN) / Math.max(1, entries.length) }),
        () => token.isCancellationRequested);
      if (token.isCancellationRequested) {
        await fsp.rm(path, { force: true });
        return undefined;
      }
      return result;
    });
    if (!written) {
      vscode.window.setStatusBarMessage(`SIPC: export of ${this.target.name} cancelled`, 5000);
      return;
    }
    this.log.info(`inspector: exported ${written.messages} messages of ${this.target.name} to ${path} (${format}, ${written.bytes} bytes)`);
    confirmSaved(`SIPC: exported ${written.messages} messages of ${this.target.name} to ${path}`, uri, format === 'jsonl');
  }

  private html(webview: vscode.Webview): string {
    const media = (...path: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...path)).toString();
    return inspectorPage({
      cspSource: webview.cspSource,
      codiconCss: media('dist', 'media', 'codicons', 'codicon.css'),
      inspectorCss: media('extension', 'media', 'inspector', 'inspector.css'),
      plotCss: media('dist', 'media', 'uplot', 'uPlot.min.css'),
      script: media('dist', 'media', 'inspector.js'),
    });
  }
}
