// Where the inspector's save dialogs start and what the confirmation of a written file offers
// (extension/src/inspector/host/saveLocation.ts), against a scripted 'vscode' module: the setting
// sipc.inspector.exportFolder (with ~), else the folder of the last save, else home; "Reveal in Explorer" and "Open"
// as a workspace file, a file outside it, in a local desktop window and in a remote or web one, and what each runs.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = join(root, 'test/out/unit');
mkdirSync(outDir, { recursive: true });
const stubPath = join(outDir, `save-location-vscode-${process.pid}.cjs`);
const outfile = join(outDir, `save-location-${process.pid}.cjs`);
process.on('exit', () => {
  rmSync(stubPath, { force: true });
  rmSync(outfile, { force: true });
});

// The scripted VS Code: the test sets `world` (settings, workspace folder, window kind) and reads `calls`.
writeFileSync(stubPath, `
const path = require('node:path');
const world = globalThis.__sipcVscodeWorld;
class Uri {
  constructor(fsPath) { this.scheme = 'file'; this.fsPath = fsPath; this.path = fsPath; }
  static file(p) { return new Uri(p); }
  static joinPath(base, ...segments) { return new Uri(path.posix.join(base.fsPath, ...segments)); }
  toString() { return 'file://' + this.fsPath; }
}
module.exports = {
  Uri,
  UIKind: { Desktop: 1, Web: 2 },
  env: {
    get remoteName() { return world.remoteName; },
    get uiKind() { return world.uiKind; },
    openExternal: async (uri) => { world.calls.push(['openExternal', uri.fsPath]); return true; },
  },
  workspace: {
    getConfiguration: (section) => ({ get: (key, fallback) => (world.settings[section + '.' + key] ?? fallback) }),
    getWorkspaceFolder: (uri) => (world.workspace && uri.fsPath.startsWith(world.workspace + '/') ? { uri: Uri.file(world.workspace) } : undefined),
  },
  commands: { executeCommand: async (...args) => { world.calls.push(['command', args[0], args[1].fsPath]); } },
  window: {
    showInformationMessage: async (message, ...actions) => { world.calls.push(['info', message, actions]); return world.answer; },
    showErrorMessage: async (message) => { world.calls.push(['error', message]); },
  },
};
`);
const world = (globalThis.__sipcVscodeWorld = { settings: {}, calls: [] });
await build({
  entryPoints: [join(root, 'extension/src/inspector/host/saveLocation.ts')], outfile, bundle: true, platform: 'node', format: 'cjs',
  target: 'node20', logLevel: 'silent', alias: { vscode: stubPath },
});
const saveLocation = createRequire(import.meta.url)(outfile);
const { Uri } = createRequire(import.meta.url)(stubPath);

beforeEach(() => {
  Object.assign(world, { settings: {}, calls: [], workspace: '/work/project', remoteName: undefined, uiKind: 1, answer: undefined });
});

test('the dialog starts in home, then in the folder of the last save; the setting wins over both', () => {
  assert.equal(saveLocation.saveFolder().fsPath, homedir(), 'nothing saved yet: home, not the workspace');
  assert.equal(saveLocation.defaultSaveUri('orders.pcapng').fsPath, join(homedir(), 'orders.pcapng'));
  saveLocation.rememberSaveFolder(Uri.file('/data/captures/first.jsonl'));
  assert.equal(saveLocation.saveFolder().fsPath, '/data/captures');
  assert.equal(saveLocation.defaultSaveUri('orders.pcapng').fsPath, '/data/captures/orders.pcapng');
  world.settings['sipc.inspector.exportFolder'] = '/srv/exports';
  assert.equal(saveLocation.saveFolder().fsPath, '/srv/exports');
  world.settings['sipc.inspector.exportFolder'] = '~/sipc';
  assert.equal(saveLocation.saveFolder().fsPath, join(homedir(), 'sipc'), '~ is the home folder');
  world.settings['sipc.inspector.exportFolder'] = '~';
  assert.equal(saveLocation.saveFolder().fsPath, homedir());
  world.settings['sipc.inspector.exportFolder'] = '  ';
  assert.equal(saveLocation.saveFolder().fsPath, '/data/captures', 'a blank setting counts as unset');
});

test('the confirmation offers what the window can do: Reveal and Open', () => {
  const inWorkspace = Uri.file('/work/project/out/capture.jsonl');
  const outside = Uri.file('/tmp/capture.pcapng');
  const { REVEAL_ACTION, OPEN_ACTION } = saveLocation;
  assert.equal(REVEAL_ACTION, 'Reveal in Explorer');
  assert.equal(OPEN_ACTION, 'Open');
  // A local desktop window reaches the OS file manager and default apps.
  assert.deepEqual(saveLocation.savedFileActions(outside, false), [REVEAL_ACTION, OPEN_ACTION]);
  assert.deepEqual(saveLocation.savedFileActions(inWorkspace, true), [REVEAL_ACTION, OPEN_ACTION]);
  // Remote or web: reveal only in the workspace's explorer, open only text in an editor.
  world.remoteName = 'ssh-remote';
  assert.deepEqual(saveLocation.savedFileActions(outside, false), []);
  assert.deepEqual(saveLocation.savedFileActions(outside, true), [OPEN_ACTION]);
  assert.deepEqual(saveLocation.savedFileActions(inWorkspace, false), [REVEAL_ACTION]);
  world.remoteName = undefined;
  world.uiKind = 2;
  assert.deepEqual(saveLocation.savedFileActions(inWorkspace, true), [REVEAL_ACTION, OPEN_ACTION]);
  assert.deepEqual(saveLocation.savedFileActions(outside, false), []);
});

test('each action runs the right command: explorer or OS reveal, an editor or the default app', async () => {
  const inWorkspace = Uri.file('/work/project/capture.jsonl');
  const outside = Uri.file('/tmp/capture.pcapng');
  await saveLocation.runSavedFileAction('Reveal in Explorer', inWorkspace, true);
  await saveLocation.runSavedFileAction('Reveal in Explorer', outside, false);
  await saveLocation.runSavedFileAction('Open', inWorkspace, true);
  await saveLocation.runSavedFileAction('Open', outside, false);
  await saveLocation.runSavedFileAction(undefined, outside, false);
  assert.deepEqual(world.calls, [
    ['command', 'revealInExplorer', '/work/project/capture.jsonl'],
    ['command', 'revealFileInOS', '/tmp/capture.pcapng'],
    ['command', 'vscode.open', '/work/project/capture.jsonl'],
    ['openExternal', '/tmp/capture.pcapng'],
  ]);
});

test('confirmSaved says where the file went and runs the action the user picks', async () => {
  const file = Uri.file('/work/project/capture.jsonl');
  world.answer = 'Open';
  saveLocation.confirmSaved('SIPC: exported 3 messages of orders to /work/project/capture.jsonl', file, true);
  // confirmSaved never waits for the answer: the action runs once the notification settles.
  for (let i = 0; i < 10 && world.calls.length < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(world.calls, [
    ['info', 'SIPC: exported 3 messages of orders to /work/project/capture.jsonl', ['Reveal in Explorer', 'Open']],
    ['command', 'vscode.open', '/work/project/capture.jsonl'],
  ]);
});

test('capture files are written with Node streams: a file that is not on a disk is refused clearly', () => {
  assert.equal(saveLocation.diskPath(Uri.file('/tmp/x.pcapng')), '/tmp/x.pcapng');
  const virtual = Object.assign(Uri.file('/x.pcapng'), { scheme: 'vscode-vfs' });
  assert.throws(() => saveLocation.diskPath(virtual), /not on a disk this extension can write to; choose a local file/);
});
