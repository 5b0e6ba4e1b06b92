import * as vscode from 'vscode';
import { stringArgument } from '../../../commands/arguments';
import type { SipcCommand } from '../../../commands/command';
import { diskPath, saveFolder } from '../saveLocation';
import { requireInspector } from './requireInspector';

export const OPEN_CAPTURE_COMMAND = 'sipc.openCapture';

/** The file a command was invoked with: a path, a Uri (the explorer's context menu), or `{ file }`. */
function fileArgument(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return diskPath(arg);
  return stringArgument(arg, 'file');
}

/** SIPC: Open Capture… — a pcapng or JSON Lines recording in a read-only inspector panel. */
export const openCapture: SipcCommand = {
  id: OPEN_CAPTURE_COMMAND,
  failure: 'Could not open the capture',
  async run(services, arg): Promise<string | undefined> {
    const api = requireInspector(services);
    let path = fileArgument(arg);
    if (path === undefined) {
      const [picked] = await vscode.window.showOpenDialog({
        title: 'Open a capture (pcapng or JSON Lines, from the inspector or `sipc record`)',
        defaultUri: saveFolder(),
        canSelectMany: false,
        filters: { 'Captures': ['pcapng', 'jsonl', 'ndjson', 'json'], 'All files': ['*'] },
      }) ?? [];
      if (!picked) return undefined;
      path = diskPath(picked);
    }
    await api.openCapture(path);
    return path;
  },
};
