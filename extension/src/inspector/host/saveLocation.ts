// Where the inspector's save dialogs (export, save bytes) start, and what the user is told once a file is written.
// A capture is not part of the project, so the dialog does not start in the workspace: it starts in the folder of
// the setting sipc.inspector.exportFolder, else where the last file was saved, else the home folder.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

let lastFolder: vscode.Uri | undefined;

function expandHome(folder: string): string {
  return folder === '~' || folder.startsWith('~/') ? path.join(os.homedir(), folder.slice(1)) : folder;
}

/** The folder a save dialog starts in (see the comment at the top). */
export function saveFolder(): vscode.Uri {
  const configured = vscode.workspace.getConfiguration('sipc.inspector').get<string>('exportFolder', '').trim();
  if (configured !== '') return vscode.Uri.file(path.resolve(expandHome(configured)));
  return lastFolder ?? vscode.Uri.file(os.homedir());
}

/** The dialog's starting file: `fileName` in saveFolder(). */
export function defaultSaveUri(fileName: string): vscode.Uri {
  return vscode.Uri.joinPath(saveFolder(), fileName);
}

/** Remembers the folder the user chose, for the next dialog. */
export function rememberSaveFolder(file: vscode.Uri): void {
  lastFolder = vscode.Uri.joinPath(file, '..');
}

/** The local path of a chosen file; capture files are streamed with Node's fs, so they must be on a disk. */
export function diskPath(file: vscode.Uri): string {
  if (file.scheme !== 'file') throw new Error(`${file.toString()} is not on a disk this extension can write to; choose a local file`);
  return file.fsPath;
}

export const REVEAL_ACTION = 'Reveal in Explorer';
export const OPEN_ACTION = 'Open';

function insideWorkspace(file: vscode.Uri): boolean {
  return vscode.workspace.getWorkspaceFolder(file) !== undefined;
}

/** The OS file manager and default apps are only reachable from a local desktop window. */
function localDesktop(): boolean {
  return vscode.env.remoteName === undefined && vscode.env.uiKind === vscode.UIKind.Desktop;
}

/**
 * What the confirmation offers for a written file: reveal it (VS Code's explorer for a workspace file, the OS file
 * manager otherwise, where there is one) and open it (in an editor when it is text, else in its default app).
 */
export function savedFileActions(file: vscode.Uri, isText: boolean): string[] {
  const actions: string[] = [];
  if (insideWorkspace(file) || localDesktop()) actions.push(REVEAL_ACTION);
  if (isText || localDesktop()) actions.push(OPEN_ACTION);
  return actions;
}

/** Runs a confirmation's action on the written file. */
export async function runSavedFileAction(action: string | undefined, file: vscode.Uri, isText: boolean): Promise<void> {
  if (action === REVEAL_ACTION) {
    await vscode.commands.executeCommand(insideWorkspace(file) ? 'revealInExplorer' : 'revealFileInOS', file);
  } else if (action === OPEN_ACTION) {
    if (isText) await vscode.commands.executeCommand('vscode.open', file);
    else await vscode.env.openExternal(file);
  }
}

/** Tells the user where the file went, with the actions above; never waits for the answer. */
export function confirmSaved(message: string, file: vscode.Uri, isText: boolean): void {
  void vscode.window.showInformationMessage(message, ...savedFileActions(file, isText))
    .then((action) => runSavedFileAction(action, file, isText))
    .then(undefined, (error: unknown) => void vscode.window.showErrorMessage(`SIPC: ${error instanceof Error ? error.message : String(error)}`));
}
