// Deactivation with open channels: every channel closes cleanly and the peers see it. Runs last (index.js orders it
// so): afterwards this extension host has no working SIPC extension.
'use strict';

const assert = require('assert');
const path = require('path');
const vscode = require('vscode');
const { EXTENSION_ID, uniqueName, until, cli, extensionApi } = require('./helpers');

describe('SIPC extension deactivation', () => {
  const peers = [];
  after(() => Promise.all(peers.splice(0).map((peer) => peer.stop())));

  it('closes every open channel cleanly, and the peers see it', async () => {
    const api = await extensionApi();
    const asClient = uniqueName('deact-c');
    const server = cli(['recv', asClient, '--format', 'json']);
    peers.push(server);
    await until(async () => (await api.channelsView.refresh()).find((n) => n.name === asClient && n.info?.serverAlive),
      `channel ${asClient} has a live server`);
    await vscode.commands.executeCommand('sipc.connect', { name: asClient });
    const asServer = uniqueName('deact-s');
    const pending = vscode.commands.executeCommand('sipc.connect', { name: asServer });
    await until(() => api.connections.get(asServer)?.state === 'waiting', 'waiting for the client');
    peers.push(cli(['echo', asServer]));
    await pending;

    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    const main = require(path.join(extension.extensionPath, extension.packageJSON.main));
    await main.deactivate();

    assert.deepStrictEqual(api.connections.connections(), []);
    // A clean close frees the role (pid 0); a channel left open would still name this process.
    const { list } = require(path.join(extension.extensionPath, 'dist/api.js'));
    const ours = (await list()).filter((info) => info.name === asClient || info.name === asServer);
    for (const info of ours) {
      assert.notStrictEqual(info.serverPid, process.pid, `${info.name}: server role released`);
      assert.notStrictEqual(info.clientPid, process.pid, `${info.name}: client role released`);
    }
    const served = ours.find((info) => info.name === asClient);
    assert.ok(served && served.serverPid === server.pid && served.clientPid === 0, 'the CLI server still serves, its client slot free');
  });
});
