import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { nameArgument, stringArgument } from '../../commands/arguments';
import type { SipcCommand } from '../../commands/command';
import { parseCSchema } from '../cparser';
import { parseMapping } from '../mapping';
import { SchemaError } from '../types';
import { mappingFilePath } from '../workspaceSchemas';

/**
 * Set Channel Schema…: gives channels (a name or a pattern with * and ?) a C header of the project and one of its
 * structs, written as the first entry of the mapping file (.sipc/channels.json, created if needed), so it wins.
 * Arguments (optional, for other extensions and the tests): `{ name, header, type }`. Resolves to the mapping file.
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
    const text = fs.readFileSync(header, 'utf8');
    const schema = parseCSchema(text, {
      file: header,
      readInclude: (name, from) => {
        const included = path.join(path.dirname(from), name);
        try { return { file: included, text: fs.readFileSync(included, 'utf8') }; } catch { return undefined; }
      },
    });
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

    const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    if (existing !== undefined) parseMapping(existing, file); // refuses to rewrite a file it could not read back
    const json = existing !== undefined ? JSON.parse(existing) as { channels: Array<Record<string, unknown>> } : { channels: [] };
    const schemaPath = path.relative(path.dirname(file), header).split(path.sep).join('/');
    json.channels = [{ match, schema: schemaPath, type }, ...json.channels.filter((e) => e.match !== match)];
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
    services.log.info(`decode: ${match} now decodes as ${type} from ${schemaPath} (${file})`);
    services.inspector()?.schemasChanged();
    return file;
  },
};
