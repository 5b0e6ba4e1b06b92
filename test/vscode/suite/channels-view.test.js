// The channels view as a user lives with it: groups This window / Live / Stale (collapsed), natural order, a filter
// that says "n of m", Remove All Stale (limited to what the filter shows), process names next to pids, a holder
// stopped by SIGSTOP shown as stopped rather than dead, busy channels labelled in the Connect picker, a half-made channel's creation
// time shown as unknown, and the status bar naming the channel whose peer left.
'use strict';

const assert = require('assert');
const fs = require('fs');
const { spawnSync } = require('child_process');
const vscode = require('vscode');
const { uniqueName, until, peerSet, extensionApi } = require('./helpers');

describe('SIPC channels view', function () {
  let api;
  const peers = peerSet();
  const spawnPeer = peers.spawn;

  before(async () => {
    api = await extensionApi();
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('sipc.clearChannelFilter');
    await vscode.commands.executeCommand('sipc.disconnectAll');
    await peers.stopAll();
  });

  const view = () => api.channelsView;
  const groups = () => view().getChildren().map((g) => [g.group, view().getChildren(g).map((n) => n.name)]);
  const listed = async (name, check = () => true) =>
    until(async () => (await view().refresh()).find((n) => n.name === name && check(n)), `${name} is listed as expected`, 10_000);

  it('groups channels, sorts them naturally, filters with a count, and removes the stale ones the filter shows', async () => {
    const base = uniqueName('grp');
    const names = { mine: `${base}-mine`, live2: `${base}-x-2`, live10: `${base}-x-10`, stale: `${base}-old` };
    spawnPeer(['echo', names.live10]);
    spawnPeer(['echo', names.live2]);
    const dying = spawnPeer(['recv', names.stale]);
    const pending = vscode.commands.executeCommand('sipc.connect', { name: names.mine });
    await until(() => api.connections.get(names.mine)?.state === 'waiting', 'waiting for a client');
    spawnPeer(['echo', names.mine]);
    await pending;
    await listed(names.stale);
    dying.kill('SIGKILL');
    await dying.exited(5000);
    await listed(names.stale, (n) => n.stale);
    await listed(names.live2);
    await listed(names.live10);

    // Only our channels: the filter is the run's unique base name.
    assert.strictEqual(await vscode.commands.executeCommand('sipc.filterChannels', { text: base }), base);
    assert.deepStrictEqual(groups(), [
      ['here', [names.mine]],
      ['live', [names.live2, names.live10]], // x-2 before x-10
      ['stale', [names.stale]],
    ]);
    const items = view().getChildren().map((g) => view().getTreeItem(g));
    assert.deepStrictEqual(items.map((i) => [i.label, i.collapsibleState]), [
      ['This window', vscode.TreeItemCollapsibleState.Expanded],
      ['Live', vscode.TreeItemCollapsibleState.Expanded],
      ['Stale', vscode.TreeItemCollapsibleState.Collapsed],
    ]);
    assert.match(items[2].contextValue, /^sipcGroup stale$/);

    await vscode.commands.executeCommand('sipc.filterChannels', { text: `${base}-x-1` });
    assert.deepStrictEqual(groups(), [['live', [names.live10]]]);
    const liveGroup = view().getChildren()[0];
    // "1 of N": N counts every live channel on the machine (other processes' too), ours among them.
    const [shown, total] = /^(\d+) of (\d+)$/.exec(view().getTreeItem(liveGroup).description).slice(1).map(Number);
    assert.ok(shown === 1 && total >= 2, view().getTreeItem(liveGroup).description);

    // Remove All Stale takes the stale channels the view shows: with the filter on our base, ours only.
    await vscode.commands.executeCommand('sipc.filterChannels', { text: base });
    assert.deepStrictEqual(await vscode.commands.executeCommand('sipc.removeAllStale', { confirm: false }), [names.stale]);
    assert.ok(!(await view().refresh()).some((n) => n.name === names.stale));
  });

  it('labels a channel whose two roles are taken as busy in the Connect picker, and a channel with one free role as joinable', async () => {
    const name = uniqueName('busy');
    const joinableName = uniqueName('join');
    spawnPeer(['echo', name]);
    await listed(name, (n) => n.info.serverPid > 0);
    const client = spawnPeer(['recv', name]);
    spawnPeer(['echo', joinableName]);
    await listed(joinableName, (n) => n.info.serverPid > 0);
    const item = (channel, check) =>
      until(async () => (await api.connectPickerItems()).find((i) => i.label === channel && check(i)),
        () => `${channel} is offered as expected`, 10_000);
    const busy = await item(name, (i) => i.choice?.info?.clientPid === client.pid);
    assert.match(busy.description, new RegExp(`^busy: server pid \\d+ and client pid ${client.pid} hold both roles$`));
    assert.strictEqual(busy.iconPath.id, 'lock');
    const joinable = await item(joinableName, () => true);
    assert.doesNotMatch(joinable.description, /busy/);
    assert.strictEqual(joinable.iconPath.id, 'watch');
  });

  it('shows a holder stopped by SIGSTOP as stopped (alive, not dead), with its process name, until SIGCONT', async () => {
    const name = uniqueName('halt');
    const peer = spawnPeer(['echo', name]);
    const running = await listed(name, (n) => n.server !== undefined);
    assert.deepStrictEqual([running.server.pid, running.server.name, running.server.activity], [peer.pid, 'sipc', 'running']);
    assert.strictEqual(running.halted, undefined);
    peer.kill('SIGSTOP');
    const stopped = await listed(name, (n) => n.halted !== undefined);
    assert.strictEqual(stopped.halted.activity, 'stopped');
    assert.strictEqual(stopped.info.serverAlive, true);
    const item = view().getTreeItem(stopped);
    assert.match(item.description, /^server stopped · /);
    assert.strictEqual(item.iconPath.id, 'debug-pause');
    const server = view().getChildren(stopped).map((d) => view().getTreeItem(d)).find((d) => d.label === 'Server');
    assert.strictEqual(server.description, `pid ${peer.pid} sipc · stopped`);
    peer.kill('SIGCONT');
    await listed(name, (n) => n.halted === undefined && n.server?.activity === 'running');
  });

  it('says a half-made channel\'s creation time is unknown, never 1970', async function () {
    if (process.platform !== 'linux') this.skip(); // the object is written into /dev/shm directly
    const name = uniqueName('hm');
    assert.ok(name.length <= 25, `${name} must stay a plain key (sipc.NAME), not a hashed one`);
    // As a creator that died before initialising the channel leaves it (PROTOCOL.md section 5): the header sized,
    // the name and the lock word (naming a process that has exited) written, no creation time.
    const header = Buffer.alloc(1024);
    header.writeUInt32LE(name.length, 36);
    header.writeBigUInt64LE((BigInt(spawnSync('true').pid) << 32n) | 1n, 56);
    header.write(name, 64, 'latin1');
    fs.writeFileSync(`/dev/shm/sipc.${name}`, header, { mode: 0o600 });
    try {
      const node = await listed(name, (n) => n.stale);
      assert.strictEqual(node.info.created, undefined);
      // The tooltip is made when hovered (resolveTreeItem), not with the item.
      assert.strictEqual(view().getTreeItem(node).tooltip, undefined);
      const tooltip = view().resolveTreeItem(view().getTreeItem(node), node).tooltip.value;
      assert.match(tooltip, /creation time unknown \(never initialised\)/);
      assert.doesNotMatch(tooltip, /1970/);
    } finally {
      fs.rmSync(`/dev/shm/sipc.${name}`, { force: true });
    }
  });

  it('names the channel whose peer left in the status bar', async () => {
    const names = [uniqueName('sb-a'), uniqueName('sb-b')];
    // This window is the client of two echo servers; the second server dies.
    const servers = [];
    for (const name of names) {
      servers.push(spawnPeer(['echo', name]));
      await listed(name, (n) => n.info.serverAlive);
      await vscode.commands.executeCommand('sipc.connect', { name });
    }
    servers[1].kill('SIGKILL');
    await until(() => api.connections.get(names[1]).state === 'peer-gone', 'the peer is gone');
    await until(() => api.statusBar.text.includes(`peer left ${names[1]}`), () => `the status bar names ${names[1]} (${api.statusBar.text})`);
    assert.ok(!api.statusBar.text.includes(names[0]));
  });
});
