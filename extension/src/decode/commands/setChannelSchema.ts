import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { nameArgument, stringArgument } from '../../commands/arguments';
import type { SipcCommand } from '../../commands/command';
import { parseCSchema } from '../cparser';
import { parseMapping } from '../mapping';
import { withFilesReadAhead } from '../readAhead';
import { SchemaError } from '../types';
import { mappingFilePath, readWorkspaceText } from '../workspaceSchemas';

/** The file's text, or undefined when there is none; any other failure (no permission, a directory) rejects. */
async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The read-modify-write of the mapping file, one at a time in this extension host: its reads and writes are
 * asynchronous, so two runs of the command at once would both read the old file and the later write would drop the
 * earlier one's entry.
 */
let mappingUpdates: Promise<unknown> = Promise.resolve();

/** Puts `{ match, schema, type }` first in the mapping file (replacing match's old entry); keeps every other entry. */
function putFirstEntry(file: string, match: string, schemaPath: string, type: string): Promise<void> {
  const update = mappingUpdates.then(async () => {
    const existing = await readIfPresent(file);
    if (existing !== undefined) parseMapping(existing, file); // refuses to rewrite a file it could not read back
    const json = existing !== undefined ? JSON.parse(existing) as { channels: Array<Record<string, unknown>> } : { channels: [] };
    json.channels = [{ match, schema: schemaPath, type }, ...json.channels.filter((e) => e.match !== match)];
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
  });
  mappingUpdates = update.catch(() => undefined);
  return update;
}

/**
 * Set Channel Schema…: gives channels (a name or a pattern with * and ?) a C header of the project and one of its
 * structs, written as the first entry of the mapping file (.sipc/channels.json, created if needed), so it wins.
 * Arguments (optional, for other extensions and the tests): `{ name, header, type }`. Resolves to the mapping file.
 * Every file is read and written asynchronously: the extension host's main thread never waits for the disk.
 */
export const setChannelSchema: SipcCommand = {
  id: 'sipc.setChannelSchema',
  failure: 'Could not set the channel schema',
  async run(services, arg): Promise<string | undefined> {
    const file = mappingFilePath();
    if (!file) throw new SchemaError('BAD_MAPPING', 'open a folder first: schemas live in its .sipc/channels.json');
    const match = nameArgument(arg) ?? await vscode.window.showInputBox({
      title: 'Set Channel Schema', prompt: 'Channel name, or a pattern (* any run of characters, ? one character)', value: services.connections.lastUsed?.name,
    });
    if (!match) return undefined;
    let header = stringArgument(arg, 'header');
    if (header === undefined) {
      const found = await vscode.workspace.findFiles('**/*.{h,hpp}', '**/node_modules/**', 500);
      const picked = await vscode.window.showQuickPick(found.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })),
        { title: `The C header of ${match}'s messages` });
      if (!picked) return undefined;
      header = picked.uri.fsPath;
    }
    const text = await fsp.readFile(header, 'utf8'); // its own error (ENOENT, EACCES, ...) is what the user sees
    const headerFile = header;
    const schema = await withFilesReadAhead((read) => parseCSchema(text, {
      file: headerFile,
      readInclude: (name, from) => {
        const included = path.join(path.dirname(from), name);
        const includedText = read(included);
        return includedText === undefined ? undefined : { file: included, text: includedText };
      },
    }), readWorkspaceText);
    const records = [...new Set([...schema.types.values()].filter((t) => t.kind === 'struct' || t.kind === 'union'))];
    if (records.length === 0) throw new SchemaError('BAD_MAPPING', `${path.basename(header)} declares no struct or union`);
    let type = stringArgument(arg, 'type');
    if (type === undefined) {
      const picked = await vscode.window.showQuickPick(records.map((r) => ({ label: r.name, description: `${r.size} bytes` })),
        { title: `Which type are the messages of ${match}?` });
      if (!picked) return undefined;
      type = picked.label;
    }
    if (!schema.lookup(type)) throw new SchemaError('BAD_MAPPING', `${path.basename(header)} declares no ${type}`);

    const schemaPath = path.relative(path.dirname(file), header).split(path.sep).join('/');
    await putFirstEntry(file, match, schemaPath, type);
    services.log.info(`decode: ${match} now decodes as ${type} from ${schemaPath} (${file})`);
    services.inspector()?.schemasChanged();
    return file;
  },
};
