// Debugger-aware peers in the real extension host with VS Code's built-in JavaScript debugger: a Node program that
// holds a channel through the sipc Node API is launched under the debugger and stops at a `debugger` statement. The
// extension learns its pid from the debug session, marks the channel "paused in debugger" (and opens the
// inspector on it, with sipc.debugging.openInspectorOnPause, whose state badge then says so), and marks it live
// again when the program continues (it then waits for one message, so the mark is seen to clear while it runs).
'use strict';

const assert = require('assert');
const path = require('path');
const vscode = require('vscode');
const { repoRoot, uniqueName, until, cli, extensionApi } = require('./helpers');

describe('SIPC debugger-aware peers', function () {
  let api;

  before(async () => {
    api = await extensionApi();
  });

  afterEach(async () => {
    await vscode.debug.stopDebugging();
    await vscode.workspace.getConfiguration('sipc.debugging').update('openInspectorOnPause', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('marks the channel of a Node program paused at a breakpoint, opens the inspector showing the pause, and clears both marks on continue', async () => {
    const name = uniqueName('dbg');
    await vscode.workspace.getConfiguration('sipc.debugging').update('openInspectorOnPause', true, vscode.ConfigurationTarget.Global);
    const started = await vscode.debug.startDebugging(undefined, {
      type: 'node',
      request: 'launch',
      name: 'sipc debuggee',
      program: path.join(__dirname, 'fixtures', 'debuggee.js'),
      args: [name],
      env: { SIPC_API_PATH: path.join(repoRoot, 'dist', 'api.js') },
      console: 'internalConsole',
    });
    assert.ok(started, 'the debug session started');

    const paused = await until(() => api.debuggees.all.find((d) => d.paused), () =>
      `a debuggee pauses (debuggees: ${JSON.stringify(api.debuggees.all)})`, 30_000);
    const node = await until(async () => (await api.channelsView.refresh()).find((n) => n.name === name && n.halted), () =>
      `the channel is marked halted (debuggee pid ${paused.pid})`, 15_000);
    assert.strictEqual(node.info.serverPid, paused.pid, 'the debuggee holds the server role');
    assert.strictEqual(node.halted.activity, 'paused in debugger');
    assert.match(api.channelsView.getTreeItem(node).description, /^server paused in debugger · /);

    // sipc.debugging.openInspectorOnPause: an observer of the channel opened by itself.
    const inspectorTab = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs)
      .find((tab) => tab.input instanceof vscode.TabInputWebview && tab.label.includes(name));
    await until(inspectorTab, 'the inspector opens on the paused channel', 15_000);
    // The open inspector shows why nothing moves: its state badge (stats.halted ?? stats.state) names the pause.
    // The debugger shows the paused source over it in the same group: bring the inspector to the front, as a user
    // would, once the source is open (a hidden webview has no page, and no stats are sent to it).
    const tabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    await until(() => tabs().some((tab) => tab.label === 'debuggee.js'), 'the debugger shows the paused source', 15_000);
    api.inspector.inspectChannel(name);
    await until(() => inspectorTab()?.isActive, 'the inspector is in front', 15_000);
    const shown = () => api.inspector.snapshot('observer', name)?.stats;
    await until(() => shown()?.halted === 'server paused in debugger',
      () => `the inspector shows the server paused in debugger (stats: ${JSON.stringify(shown())}})`, 15_000);
    assert.match(shown().serverProcess, new RegExp(`^${paused.pid}\\b.*· paused in debugger$`));

    await vscode.commands.executeCommand('workbench.action.debug.continue');
    await until(() => !api.debuggees.all.some((d) => d.pid === paused.pid && d.paused), 'the debuggee runs again', 15_000);
    // Running again and still holding the channel (it waits for a message): the inspector's mark clears.
    await until(() => { const stats = shown(); return stats && !stats.halted && stats.serverAlive && stats.serverPid === paused.pid; },
      () => `the inspector shows the server live again (stats: ${JSON.stringify(shown())})`, 10_000);
    assert.doesNotMatch(shown().serverProcess, /paused/);
    const sender = cli(['send', name, 'go on']);
    await sender.exited(15_000);
    // Its message received, the program closes the channel and exits; the session ends and the debuggee is forgotten.
    await until(() => !api.debuggees.all.some((d) => d.pid === paused.pid), 'the debug session ends', 30_000);
    await until(async () => !(await api.channelsView.refresh()).some((n) => n.name === name), 'the channel is gone', 15_000);
  });
});
