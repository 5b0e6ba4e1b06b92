// The SIPC messages panel inside the real extension host: what a connection sends and receives reaches the
// panel's lines (text, or hex for binary), Send Selection shows the panel without taking the editor's focus, and a
// closed connection's tab goes away. What the page draws is checked in test/vscode/ui/messages-panel.test.mjs.
'use strict';

const assert = require('assert');
const vscode = require('vscode');
const { uniqueName, until, cli, extensionApi } = require('./helpers');

describe('SIPC messages panel', function () {
  let api;
  const peers = [];

  before(async () => {
    api = await extensionApi();
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('sipc.disconnectAll');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
    await vscode.workspace.getConfiguration('sipc.messagesPanel').update('revealOnSend', undefined, vscode.ConfigurationTarget.Global);
  });

  async function connectedToEcho() {
    const name = uniqueName('panel');
    const pending = vscode.commands.executeCommand('sipc.connect', { name });
    await until(() => api.connections.get(name)?.state === 'waiting', 'waiting for the client');
    peers.push(cli(['echo', name]));
    await pending;
    return name;
  }

  const linesOf = (name) => api.messagesPanel.linesOf(name).map((l) => [l.dir, l.kind, l.text]);

  it('shows sent and received messages, text and hex, and Send Selection reveals it keeping the editor focused', async () => {
    const name = await connectedToEcho();
    await vscode.commands.executeCommand('workbench.action.closePanel');
    const document = await vscode.workspace.openTextDocument({ content: 'hello panel\nsecond line\n' });
    const editor = await vscode.window.showTextDocument(document);
    editor.selection = new vscode.Selection(0, 0, 0, 11);
    await vscode.commands.executeCommand('sipc.sendSelection');
    await until(() => linesOf(name).length === 2, () => `the echo in the panel's lines (${JSON.stringify(linesOf(name))})`);
    assert.deepStrictEqual(linesOf(name), [['sent', 'text', 'hello panel'], ['received', 'text', 'hello panel']]);
    await until(() => api.messagesPanel.isVisible, 'the panel is shown after Send Selection');
    assert.strictEqual(vscode.window.activeTextEditor?.document, document, 'the editor keeps the focus');

    await api.connections.get(name).send(Uint8Array.from([0x00, 0x01, 0xff]));
    await until(() => linesOf(name).length === 4, () => `the binary echo (${JSON.stringify(linesOf(name))})`);
    assert.deepStrictEqual(linesOf(name).slice(2), [['sent', 'hex', '00 01 ff'], ['received', 'hex', '00 01 ff']]);

    await vscode.commands.executeCommand('sipc.disconnect', { name });
    await until(() => linesOf(name).length === 0, 'the closed connection leaves the panel');
  });

  it('stays closed after Send Selection when sipc.messagesPanel.revealOnSend is off', async () => {
    const name = await connectedToEcho();
    await vscode.workspace.getConfiguration('sipc.messagesPanel').update('revealOnSend', false, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await until(() => !api.messagesPanel.isVisible, 'the panel is closed');
    const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ content: 'quiet' }));
    editor.selection = new vscode.Selection(0, 0, 0, 5);
    await vscode.commands.executeCommand('sipc.sendSelection');
    await until(() => linesOf(name).length === 2, 'the echo is kept for the panel');
    assert.strictEqual(api.messagesPanel.isVisible, false);
  });
});
