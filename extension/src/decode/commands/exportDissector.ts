import * as path from 'node:path';
import * as vscode from 'vscode';
import { nameArgument, stringArgument } from '../../commands/arguments';
import type { SipcCommand } from '../../commands/command';
import { generateLuaDissector } from '../luaDissector';
import { findEntry, loadCSchema, type MappingEntry } from '../mapping';
import { withFilesReadAhead } from '../readAhead';
import { SchemaError } from '../types';
import { readMapping, readWorkspaceText } from '../workspaceSchemas';

function describeEntry(entry: MappingEntry): string {
  return 'type' in entry.message ? entry.message.type : `tagged by ${entry.message.tag.type} at offset ${entry.message.tag.offset}`;
}

/**
 * Export Dissector…: writes a Wireshark Lua dissector for a channel's C-struct schema. Arguments (optional): a
 * channel name (`{ name }`, or a node of the channels view) picks the mapping entry; `{ to }` is the file to write
 * (otherwise a save dialog asks). Resolves to the path written.
 */
export const exportDissector: SipcCommand = {
  id: 'sipc.exportDissector',
  failure: 'Could not export the dissector',
  async run(services, arg): Promise<string | undefined> {
    const { file, mapping } = await readMapping();
    const cEntries = mapping.entries.filter((e) => e.format === 'c');
    if (cEntries.length === 0) throw new SchemaError('BAD_MAPPING', `${file} maps no channel to a C header`);
    const name = nameArgument(arg);
    let entry: MappingEntry | undefined;
    if (name !== undefined) {
      entry = findEntry(mapping, name);
      if (!entry || entry.format !== 'c') throw new SchemaError('BAD_MAPPING', `no C-struct schema matches the channel ${name}`);
    } else if (cEntries.length === 1) {
      entry = cEntries[0];
    } else {
      const picked = await vscode.window.showQuickPick(cEntries.map((e) => ({ label: e.match, description: `${e.schema} · ${describeEntry(e)}`, entry: e })),
        { title: 'Export a Wireshark dissector for which channels?' });
      entry = picked?.entry;
    }
    if (!entry) return undefined;
    const mappingFile = file.split(path.sep).join('/');
    const chosen = entry;
    const cSchema = await withFilesReadAhead((read) => loadCSchema(chosen, mappingFile, read), readWorkspaceText);
    const lua = generateLuaDissector(cSchema, entry.message,
      { origin: `Channels "${entry.match}", schema ${entry.schema} (${describeEntry(entry)}), from ${path.basename(file)}.` });
    let target = stringArgument(arg, 'to');
    if (target === undefined) {
      const base = entry.schema.replace(/^.*\//, '').replace(/\.[^.]*$/, '');
      const uri = await vscode.window.showSaveDialog({
        title: 'Export the Wireshark dissector',
        defaultUri: vscode.Uri.file(path.join(path.dirname(file), `${base}.lua`)),
        filters: { 'Wireshark Lua dissector': ['lua'] },
      });
      if (!uri) return undefined;
      target = uri.fsPath;
    }
    await vscode.workspace.fs.writeFile(vscode.Uri.file(target), new TextEncoder().encode(lua));
    services.log.info(`decode: wrote the Wireshark dissector for ${entry.match} to ${target}`);
    vscode.window.setStatusBarMessage(`$(export) SIPC: dissector written to ${path.basename(target)}; run tshark -X lua_script:${path.basename(target)}`, 5000);
    return target;
  },
};
