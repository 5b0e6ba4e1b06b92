// The schemas of this workspace's channels: reads the mapping file (`sipc.decode.mappingFile`, default
// `.sipc/channels.json` in the first workspace folder) and the headers it names, and reloads them when any of
// those files or the setting changes. The extension runs in the workspace (extensionKind), so these are local files.
// Every read is asynchronous (fs.promises): the extension host's main thread never waits for the file system.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findEntry, loadEntry, parseMapping, type Mapping } from './mapping';
import type { MessageSchema } from './messages';
import { withFilesReadAhead, type AsyncTextReader } from './readAhead';
import { SchemaError } from './types';

export const DEFAULT_MAPPING_FILE = '.sipc/channels.json';

/** What a channel decodes with: a schema, nothing (no entry matches), or why its schema could not be loaded. */
export type ChannelSchema =
  | { readonly kind: 'schema'; readonly schema: MessageSchema; readonly source: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'error'; readonly message: string };

/** A workspace file's text, or undefined when it cannot be read (a missing schema is reported by the parser). */
export const readWorkspaceText: AsyncTextReader = async (file) => {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** The mapping file's absolute path, or undefined without a workspace folder and with a relative setting. */
export function mappingFilePath(): string | undefined {
  const setting = vscode.workspace.getConfiguration('sipc.decode').get<string>('mappingFile') || DEFAULT_MAPPING_FILE;
  if (path.isAbsolute(setting)) return setting;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder && folder.scheme === 'file' ? path.join(folder.fsPath, setting) : undefined;
}

/** Reads and parses the mapping file now (for commands); rejects with SchemaError when it is missing or invalid. */
export async function readMapping(): Promise<{ file: string; mapping: Mapping }> {
  const file = mappingFilePath();
  if (!file) throw new SchemaError('BAD_MAPPING', 'open a folder first: schemas live in its .sipc/channels.json');
  const text = await readWorkspaceText(file);
  if (text === undefined) throw new SchemaError('BAD_MAPPING', `there is no ${file}: see the README, Decoding messages`);
  return { file, mapping: parseMapping(text, file) };
}

/** The mapping file as read: its entries (none when there is no file), or why it is invalid. */
type MappingRead = { readonly mapping: Mapping } | { readonly error: string };

export class WorkspaceSchemas implements vscode.Disposable {
  /** The mapping being read or read (a promise from the start, so a reload() forgets a read still under way). */
  private mapping: { file: string; loaded: Promise<MappingRead> } | undefined;
  private readonly channels = new Map<string, Promise<ChannelSchema>>();
  private readonly watched = new Map<string, vscode.FileSystemWatcher>();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private readonly subscriptions: vscode.Disposable[] = [];
  /** Fires when the mapping, a schema file or the setting changed: ask again for every channel. */
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('sipc.decode')) this.reload(); }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.reload()),
    );
  }

  /**
   * The schema of a channel (cached until a file changes). The files are read asynchronously; never rejects: what
   * went wrong is the 'error' kind.
   */
  schemaFor(channel: string): Promise<ChannelSchema> {
    const cached = this.channels.get(channel);
    if (cached) return cached;
    const result = this.load(channel);
    this.channels.set(channel, result);
    return result;
  }

  private async load(channel: string): Promise<ChannelSchema> {
    const file = mappingFilePath();
    if (!file) return { kind: 'none' };
    if (!this.mapping || this.mapping.file !== file) {
      this.watch(file);
      this.mapping = { file, loaded: this.readMappingOrNone(file) };
    }
    const mapping = await this.mapping.loaded;
    if ('error' in mapping) return { kind: 'error', message: mapping.error };
    const entry = findEntry(mapping.mapping, channel);
    if (!entry) return { kind: 'none' };
    const readWatched: AsyncTextReader = (p) => { this.watch(p); return readWorkspaceText(p); };
    try {
      const schema = await withFilesReadAhead((read) => loadEntry(entry, file.split(path.sep).join('/'), read), readWatched);
      this.log.info(`decode: ${channel} uses ${entry.schema} (${schema.description})`);
      return { kind: 'schema', schema, source: entry.schema };
    } catch (error) {
      const message = error instanceof SchemaError || error instanceof Error ? error.message : String(error);
      this.log.warn(`decode: the schema of ${channel} could not be loaded: ${message}`);
      return { kind: 'error', message };
    }
  }

  /** The mapping file parsed; a missing file maps nothing, an invalid one is an error every channel reports. */
  private async readMappingOrNone(file: string): Promise<MappingRead> {
    const text = await readWorkspaceText(file);
    try {
      return { mapping: text === undefined ? { entries: [] } : parseMapping(text, file) };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  }

  private watch(file: string): void {
    if (this.watched.has(file)) return;
    // Inside a workspace folder the pattern is relative to the folder, which the workspace watcher already follows:
    // a watcher rooted at .sipc/ that does not exist yet never reports the channels.json Set Channel Schema… then
    // creates with it (an open inspector kept showing no schema).
    const uri = vscode.Uri.file(file);
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const pattern = folder
      ? new vscode.RelativePattern(folder, path.relative(folder.uri.fsPath, file).split(path.sep).join('/'))
      : new vscode.RelativePattern(vscode.Uri.file(path.dirname(file)), path.basename(file));
    const watcher = vscode.workspace.createFileSystemWatcher(pattern);
    const changed = () => this.reload();
    watcher.onDidChange(changed);
    watcher.onDidCreate(changed);
    watcher.onDidDelete(changed);
    this.watched.set(file, watcher);
  }

  /** Forgets every loaded mapping and schema and tells the panels (a file changed, or this window wrote the mapping). */
  reload(): void {
    this.mapping = undefined;
    this.channels.clear();
    this.changeEmitter.fire();
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.watched.forEach((w) => w.dispose());
    this.watched.clear();
    this.changeEmitter.dispose();
  }
}
