// The extension inside the real extension host: activation, every command through executeCommand against a real
// peer process (the sipc CLI), the bytes checked on the peer's side, the channels view, the status bar, a peer
// killed mid-session (deactivation with open channels is deactivation.test.js, which runs last).
'use strict';

const assert = require('assert');
const fs = require('fs');
const path = require('path');
const vscode = require('vscode');
const { uniqueName, tempDir, until, withTimeout, cli: cliProcess, peerSet, extensionApi } = require('./helpers');

/** One message as printed by `sipc recv --format json`. */
function decodeReceived(line) {
  const record = JSON.parse(line);
  // {"index":0,"length":5,"text":"hello"}, or "hex" instead of "text" when the message is not UTF-8.
  if (typeof record.text === 'string') return Buffer.from(record.text, 'utf8');
  if (typeof record.hex === 'string') return Buffer.from(record.hex.replace(/[^0-9a-f]/gi, ''), 'hex');
  throw new Error(`unexpected recv output: ${line}`);
}

/** A peer process: the sipc CLI with the given arguments; messages() decodes what `recv --format json` printed. */
function cli(args) {
  const peer = cliProcess(args);
  return {
    ...peer,
    /** The first `count` messages the peer printed. */
    async messages(count, timeoutMs = 5000) {
      await until(() => peer.lines.length >= count, `the peer printed ${count} message(s) (stderr: ${peer.stderr()})`, timeoutMs);
      return peer.lines.slice(0, count).map(decodeReceived);
    },
  };
}

/** The channel is listed with a live server. */
function waitForChannel(api, name) {
  return until(
    async () => (await api.channelsView.refresh()).find((n) => n.name === name && n.info.serverAlive),
    `channel ${name} has a live server`,
  );
}

function connect(name, options = {}) {
  return vscode.commands.executeCommand('sipc.connect', { name, ...options });
}

/** Captures the error notifications the extension shows, instead of showing them. */
function errorMessages() {
  const original = vscode.window.showErrorMessage;
  const messages = [];
  vscode.window.showErrorMessage = (message) => {
    messages.push(message);
    return Promise.resolve(undefined);
  };
  return { messages, restore: () => (vscode.window.showErrorMessage = original) };
}

describe('SIPC extension', function () {
  let api;
  const peers = peerSet(cli);
  const spawnPeer = peers.spawn;

  before(async () => {
    api = await extensionApi();
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('sipc.disconnectAll');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await peers.stopAll();
    await vscode.workspace.getConfiguration('sipc').update('textEncoding', undefined, vscode.ConfigurationTarget.Global);
  });

  /** Two channels, each with a CLI receiver as server, and this window connected to both as client. */
  const connectToTwoReceivers = async (label) => {
    const first = uniqueName(`${label}1`);
    const second = uniqueName(`${label}2`);
    const firstPeer = spawnPeer(['recv', first, '--format', 'json']);
    spawnPeer(['recv', second, '--format', 'json']);
    await waitForChannel(api, first);
    await waitForChannel(api, second);
    await connect(first);
    await connect(second);
    return { first, second, firstPeer };
  };

  describe('activation', () => {
    it('activates and registers every command', async () => {
      const commands = await vscode.commands.getCommands(true);
      for (const id of [
        'sipc.connect', 'sipc.disconnect', 'sipc.disconnectAll', 'sipc.sendSelection', 'sipc.sendText',
        'sipc.sendFile', 'sipc.openInspector', 'sipc.inspectChannel', 'sipc.removeStaleChannel',
        'sipc.copyChannelName', 'sipc.refreshChannels', 'sipc.showLog', 'sipc.exportDissector', 'sipc.setChannelSchema',
      ]) {
        assert.ok(commands.includes(id), `${id} is registered`);
      }
      assert.deepStrictEqual(api.connections.connections(), []);
    });
  });

  describe('connect', () => {
    it('joins a channel a CLI server created, as client', async () => {
      const name = uniqueName('join');
      spawnPeer(['recv', name, '--format', 'json']);
      await waitForChannel(api, name);
      const result = await connect(name);
      assert.strictEqual(result.role, 'client');
      assert.strictEqual(result.state, 'connected');
      assert.strictEqual(api.connections.get(name).state, 'connected');
    });

    it('creates a new channel as server with the given options and waits for the CLI client', async () => {
      const name = uniqueName('create');
      const pending = connect(name, { maxMessageSize: 2048, queueDepth: 4 });
      await until(() => api.connections.get(name)?.state === 'waiting', 'the connection is listed as waiting');
      assert.strictEqual(api.connections.get(name).role, 'server');
      spawnPeer(['echo', name]);
      const result = await pending;
      assert.strictEqual(result.role, 'server');
      assert.strictEqual(result.maxMessageSize, 2048);
      const info = api.connections.get(name).info();
      assert.strictEqual(info.queueDepth, 4);
      assert.ok(info.clientPid > 0, 'the client pid is known');
    });

    it('gives up after the timeout and closes the channel', async () => {
      const name = uniqueName('timeout');
      const errors = errorMessages();
      try {
        const result = await connect(name, { timeoutMs: 300 });
        assert.strictEqual(result, undefined);
        assert.strictEqual(api.connections.get(name), undefined);
        assert.ok(errors.messages.some((m) => m.includes('No peer connected') && m.includes(name)), errors.messages.join('\n'));
      } finally {
        errors.restore();
      }
      const listed = (await api.channelsView.refresh()).map((n) => n.name);
      assert.ok(!listed.includes(name), 'the abandoned channel was removed');
    });

    it('says plainly that a channel with both roles taken cannot be joined', async () => {
      const name = uniqueName('busy');
      spawnPeer(['recv', name, '--format', 'json']);
      await waitForChannel(api, name);
      spawnPeer(['echo', name]);
      await until(async () => (await api.channelsView.refresh()).find((n) => n.name === name && n.info.clientAlive), 'the CLI client joined');
      const errors = errorMessages();
      try {
        assert.strictEqual(await connect(name), undefined);
        assert.deepStrictEqual(errors.messages, [
          `Could not connect to "${name}": the channel already has a server and a client; a third process cannot join it.`,
        ]);
      } finally {
        errors.restore();
      }
      assert.strictEqual(api.connections.get(name), undefined);
    });

    it('refuses an invalid name with a plain sentence', async () => {
      const errors = errorMessages();
      try {
        assert.strictEqual(await connect('.bad name'), undefined);
        assert.strictEqual(errors.messages.length, 1);
        assert.match(errors.messages[0], /channel names are 1 to 200 letters/);
        assert.doesNotMatch(errors.messages[0], /\bat\b.*\.js/, 'no stack trace');
      } finally {
        errors.restore();
      }
    });
  });

  describe('send', () => {
    async function connectedToReceiver() {
      const name = uniqueName('send');
      const peer = spawnPeer(['recv', name, '--format', 'json']);
      await waitForChannel(api, name);
      await connect(name);
      return { name, peer };
    }

    /**
     * The active editor showing a new document with `text`. The extension host learns of a new active editor
     * asynchronously: once in CI the command still found the previous test's editor (the new selections were
     * applied to the old text), so this waits until the active editor is the new document's.
     */
    async function editorWith(text) {
      const document = await vscode.workspace.openTextDocument({ content: text });
      await vscode.window.showTextDocument(document);
      return until(() => {
        const editor = vscode.window.activeTextEditor;
        return editor !== undefined && editor.document === document && editor.document.getText() === text && editor;
      }, 'the new document is the active editor');
    }

    it('sends the selection', async () => {
      const { peer } = await connectedToReceiver();
      const editor = await editorWith('first line\nsecond line\nthird line\n');
      editor.selection = new vscode.Selection(1, 0, 1, 6);
      const result = await vscode.commands.executeCommand('sipc.sendSelection');
      assert.deepStrictEqual({ messages: result.messages, bytes: result.bytes }, { messages: 1, bytes: 6 });
      const [message] = await peer.messages(1);
      assert.strictEqual(message.toString('utf8'), 'second');
    });

    it('sends each selection of a multi-cursor as its own message, in document order', async () => {
      const { name, peer } = await connectedToReceiver();
      const editor = await editorWith('alpha beta\ngamma delta\nepsilon\n');
      editor.selections = [
        new vscode.Selection(2, 0, 2, 7), // epsilon
        new vscode.Selection(0, 6, 0, 10), // beta
        new vscode.Selection(1, 0, 1, 5), // gamma
      ];
      const result = await vscode.commands.executeCommand('sipc.sendSelection', { name });
      assert.strictEqual(result.messages, 3);
      const messages = await peer.messages(3);
      assert.deepStrictEqual(messages.map((m) => m.toString('utf8')), ['beta', 'gamma', 'epsilon']);
      assert.strictEqual(api.connections.get(name).sentCount, 3);
    });

    it('sends the current line for an empty selection', async () => {
      const { peer } = await connectedToReceiver();
      const editor = await editorWith('one\n  two with spaces  \nthree');
      editor.selection = new vscode.Selection(1, 4, 1, 4);
      await vscode.commands.executeCommand('sipc.sendSelection');
      const [message] = await peer.messages(1);
      assert.strictEqual(message.toString('utf8'), '  two with spaces  ');
    });

    it('encodes text with sipc.textEncoding', async () => {
      const { name, peer } = await connectedToReceiver();
      await vscode.workspace.getConfiguration('sipc').update('textEncoding', 'utf16le', vscode.ConfigurationTarget.Global);
      const result = await vscode.commands.executeCommand('sipc.sendText', { name, text: 'hé€' });
      assert.strictEqual(result.bytes, 6);
      const [message] = await peer.messages(1);
      assert.deepStrictEqual([...message], [...Buffer.from('hé€', 'utf16le')]);
    });

    it('sends a file as one message', async () => {
      const { name, peer } = await connectedToReceiver();
      const file = path.join(await tempDir('send-file'), 'file.bin');
      const content = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 255));
      fs.writeFileSync(file, content);
      try {
        const result = await vscode.commands.executeCommand('sipc.sendFile', { name, uri: vscode.Uri.file(file) });
        assert.deepStrictEqual({ messages: result.messages, bytes: result.bytes }, { messages: 1, bytes: 3000 });
        const [message] = await peer.messages(1);
        assert.ok(message.equals(content), 'the peer received the file byte for byte');
      } finally {
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
      }
    });

    it('refuses a file larger than the channel maximum before reading it, and sends nothing', async () => {
      const name = uniqueName('big');
      const peer = spawnPeer(['recv', name, '--format', 'json', '--max-size', '1024']);
      await waitForChannel(api, name);
      await connect(name);
      assert.strictEqual(api.connections.get(name).maxMessageSize, 1024);
      const file = path.join(await tempDir('send-big'), 'big.bin');
      fs.writeFileSync(file, Buffer.alloc(1025, 1));
      const errors = errorMessages();
      try {
        const result = await vscode.commands.executeCommand('sipc.sendFile', { name, uri: vscode.Uri.file(file) });
        assert.strictEqual(result, undefined);
        assert.strictEqual(errors.messages.length, 1);
        assert.match(errors.messages[0], /is 1 KiB|1025/);
        assert.match(errors.messages[0], /at most 1 KiB per message\. Nothing was sent/);
      } finally {
        errors.restore();
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
      }
      // A small message afterwards is the first the peer sees.
      await vscode.commands.executeCommand('sipc.sendText', { name, text: 'after' });
      const [message] = await peer.messages(1);
      assert.strictEqual(message.toString('utf8'), 'after');
      assert.strictEqual(api.connections.get(name).sentCount, 1);
    });

    it('receives what the peer sends back and keeps it', async () => {
      const name = uniqueName('echo');
      const pending = connect(name);
      await until(() => api.connections.get(name)?.state === 'waiting', 'waiting for the client');
      spawnPeer(['echo', name]);
      await pending;
      const connection = api.connections.get(name);
      const received = [];
      const subscription = connection.onDidMessage((m) => received.push(m));
      try {
        await vscode.commands.executeCommand('sipc.sendText', { name, text: 'ping' });
        await until(() => connection.receivedCount === 1, 'the echo arrives');
        assert.deepStrictEqual(received.map((m) => [m.direction, Buffer.from(m.data).toString()]), [
          ['sent', 'ping'],
          ['received', 'ping'],
        ]);
        // Both records are in memory of their own: 'ping' was encoded into Node's shared pool, so keeping a view
        // of it (the inspector retains every record) would keep the pool's 8 KiB slab alive.
        for (const m of received) {
          assert.strictEqual(m.data.byteOffset, 0, `${m.direction}: not a view`);
          assert.strictEqual(m.data.buffer.byteLength, m.data.byteLength, `${m.direction}: its buffer is exactly its bytes`);
        }
        assert.strictEqual(Buffer.from(connection.receivedMessages[0].data).toString(), 'ping');
      } finally {
        subscription.dispose();
      }
    });
  });

  describe('traffic', () => {
    it('counts a burst both ways in order and keeps only the last sipc.receivedMessagesToKeep received', async () => {
      const config = vscode.workspace.getConfiguration('sipc');
      await config.update('receivedMessagesToKeep', 50, vscode.ConfigurationTarget.Global);
      try {
        const name = uniqueName('burst');
        const pending = connect(name, { queueDepth: 8 });
        await until(() => api.connections.get(name)?.state === 'waiting', 'waiting for the client');
        spawnPeer(['echo', name]);
        await pending;
        const connection = api.connections.get(name);
        const total = 400;
        const received = [];
        const subscription = connection.onDidMessage((m) => {
          if (m.direction === 'received') received.push(Buffer.from(m.data).toString());
        });
        try {
          // More than the queue holds: sends wait for room while the echo drains the queue.
          await Promise.all(Array.from({ length: total }, (_, i) => connection.send(Buffer.from(`m${i}`))));
          await until(() => connection.receivedCount === total, `all ${total} echoes arrive`, 15_000);
        } finally {
          subscription.dispose();
        }
        assert.strictEqual(connection.sentCount, total);
        assert.deepStrictEqual(received, Array.from({ length: total }, (_, i) => `m${i}`));
        const kept = connection.receivedMessages.map((m) => Buffer.from(m.data).toString());
        assert.deepStrictEqual(kept, received.slice(-50));
        await until(() => api.statusBar.text.includes(`↑${total} ↓${total}`), 'the status bar shows the counts');
      } finally {
        await config.update('receivedMessagesToKeep', undefined, vscode.ConfigurationTarget.Global);
      }
    });
  });

  describe('send timeout', () => {
    it('says that no peer came when a send to a waiting channel times out', async () => {
      const config = vscode.workspace.getConfiguration('sipc');
      await config.update('sendTimeoutSeconds', 1, vscode.ConfigurationTarget.Global);
      const name = uniqueName('lonely');
      const errors = errorMessages();
      try {
        const pending = connect(name, { timeoutMs: 0 });
        await until(() => api.connections.get(name)?.state === 'waiting', 'waiting for the client');
        assert.strictEqual(await vscode.commands.executeCommand('sipc.sendText', { name, text: 'anyone?' }), undefined);
        assert.deepStrictEqual(errors.messages, [
          `Could not send to "${name}": no client connected within 1 s (sipc.sendTimeoutSeconds), so nothing was sent.`,
        ]);
        await vscode.commands.executeCommand('sipc.disconnect', { name });
        assert.strictEqual(await pending, undefined);
      } finally {
        errors.restore();
        await config.update('sendTimeoutSeconds', undefined, vscode.ConfigurationTarget.Global);
      }
    });
  });

  describe('disconnect', () => {
    it('disconnects one channel by name and all of them', async () => {
      const { first, second, firstPeer } = await connectToTwoReceivers('d');
      assert.strictEqual(api.connections.connections().length, 2);
      assert.strictEqual(await vscode.commands.executeCommand('sipc.disconnect', { name: first }), first);
      assert.deepStrictEqual(api.connections.connections().map((c) => c.name), [second]);
      // The CLI receiver (the server) sees the client role freed, as by a clean close.
      await until(async () => {
        const node = (await api.channelsView.refresh()).find((n) => n.name === first);
        return node && node.info.serverPid === firstPeer.pid && node.info.clientPid === 0;
      }, 'the client role of the first channel is free');
      assert.strictEqual(await vscode.commands.executeCommand('sipc.disconnectAll'), 1);
      assert.deepStrictEqual(api.connections.connections(), []);
    });
  });

  describe('picking a connection', () => {
    it('asks which connection when there are several, offering the last used first', async () => {
      const { first, second, firstPeer } = await connectToTwoReceivers('p');
      await vscode.commands.executeCommand('sipc.sendText', { name: first, text: 'named' });
      assert.strictEqual(api.connections.lastUsed.name, first);

      // No name: a quick pick opens; accepting its first item must pick the last used channel.
      let settled = false;
      const pending = vscode.commands.executeCommand('sipc.sendText', { text: 'picked' }).finally(() => (settled = true));
      await until(() => {
        if (!settled) void vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
        return settled;
      }, 'the quick pick was accepted');
      const result = await pending;
      assert.strictEqual(result.name, first);
      const messages = await firstPeer.messages(2);
      assert.deepStrictEqual(messages.map((m) => m.toString()), ['named', 'picked']);
      assert.strictEqual(api.connections.get(second).sentCount, 0);
    });
  });

  describe('peer death', () => {
    it('a server sees its client die at once and takes the next client', async () => {
      const name = uniqueName('srv');
      const pending = connect(name);
      await until(() => api.connections.get(name)?.state === 'waiting', 'waiting for the client');
      const firstClient = spawnPeer(['echo', name]);
      await pending;
      const connection = api.connections.get(name);
      firstClient.kill('SIGKILL');
      await until(() => connection.state === 'peer-gone', 'the state shows the client is gone');
      assert.match(api.statusBar.text, /client gone/);
      spawnPeer(['echo', name]);
      await until(() => connection.state === 'connected', 'the next client is taken', 10_000);
      await vscode.commands.executeCommand('sipc.sendText', { name, text: 'again' });
      await until(() => connection.receivedCount === 1, 'the new client echoes');
    });

    it('a client sees its server die', async () => {
      const name = uniqueName('cli');
      const server = spawnPeer(['recv', name, '--format', 'json']);
      await waitForChannel(api, name);
      await connect(name);
      const connection = api.connections.get(name);
      const states = [];
      const subscription = connection.onDidChangeState((s) => states.push(s));
      try {
        server.kill('SIGKILL');
        await until(() => connection.state === 'peer-gone', 'the state shows the server is gone');
        assert.deepStrictEqual(states, ['peer-gone']);
      } finally {
        subscription.dispose();
      }
      const errors = errorMessages();
      try {
        assert.strictEqual(await vscode.commands.executeCommand('sipc.sendText', { name, text: 'nobody' }), undefined);
        assert.match(errors.messages[0] ?? '', /closed the channel or exited/);
      } finally {
        errors.restore();
      }
    });
  });

  describe('reconnecting', () => {
    it('stops waiting, without an error, when a waiting connection is disconnected', async () => {
      const name = uniqueName('wait');
      const errors = errorMessages();
      try {
        const pending = connect(name, { timeoutMs: 0 });
        await until(() => api.connections.get(name)?.state === 'waiting', 'waiting for the client');
        assert.strictEqual(await vscode.commands.executeCommand('sipc.disconnect', { name }), name);
        assert.strictEqual(await pending, undefined);
        assert.deepStrictEqual(errors.messages, []);
      } finally {
        errors.restore();
      }
      assert.strictEqual(api.connections.get(name), undefined);
      assert.ok(!(await api.channelsView.refresh()).some((n) => n.name === name), 'the channel is gone');
    });

    it('a client whose server died connects again to the next server', async () => {
      const name = uniqueName('again');
      const firstServer = spawnPeer(['recv', name, '--format', 'json']);
      await waitForChannel(api, name);
      await connect(name);
      const old = api.connections.get(name);
      firstServer.kill('SIGKILL');
      await until(() => old.state === 'peer-gone', 'the client sees the server gone');
      const nextServer = spawnPeer(['recv', name, '--format', 'json']);
      await until(async () => (await api.channelsView.refresh()).find((n) => n.name === name && n.info.serverPid === nextServer.pid && n.info.serverAlive), 'the next server holds the channel');
      const result = await connect(name);
      assert.strictEqual(result.state, 'connected');
      assert.notStrictEqual(api.connections.get(name), old, 'a fresh connection replaced the dead one');
      assert.strictEqual(old.state, 'closed');
      await vscode.commands.executeCommand('sipc.sendText', { name, text: 'hello again' });
      const [message] = await nextServer.messages(1);
      assert.strictEqual(message.toString(), 'hello again');
    });

    it('two connects at once to a channel whose server died share one fresh connection', async () => {
      const name = uniqueName('again-twice');
      const firstServer = spawnPeer(['recv', name, '--format', 'json']);
      await waitForChannel(api, name);
      await connect(name);
      const old = api.connections.get(name);
      firstServer.kill('SIGKILL');
      await until(() => old.state === 'peer-gone', 'the client sees the server gone');
      const nextServer = spawnPeer(['recv', name, '--format', 'json']);
      await until(async () => (await api.channelsView.refresh()).find((n) => n.name === name && n.info.serverPid === nextServer.pid && n.info.serverAlive), 'the next server holds the channel');
      // Both find the dead connection; the second must not open a channel of its own while the first replaces it.
      const [first, second] = await Promise.all([api.connections.connect(name), api.connections.connect(name)]);
      assert.strictEqual(first, second, 'both got the same connection');
      assert.strictEqual(api.connections.get(name), first);
      assert.strictEqual(first.state, 'connected');
      assert.strictEqual(api.connections.connections().filter((c) => c.name === name).length, 1);
    });

    it('a connect that joins one in progress gives up on its own timeout and signal; the first goes on', async () => {
      const name = uniqueName('join-own');
      const first = api.connections.connect(name);
      await assert.rejects(api.connections.connect(name, { timeoutMs: 50 }), (error) => error.code === 'TIMEOUT');
      const controller = new AbortController();
      const aborted = assert.rejects(api.connections.connect(name, { signal: controller.signal }), (error) => error.code === 'CANCELLED');
      controller.abort();
      await aborted;
      spawnPeer(['send', name, 'hello']);
      const connection = await withTimeout(first, 10000, 'the first connect');
      assert.strictEqual(connection.state, 'connected');
    });

    it('offers to reconnect when the server of a client connection dies, and does so', async () => {
      const name = uniqueName('offer');
      const firstServer = spawnPeer(['recv', name, '--format', 'json']);
      await waitForChannel(api, name);
      await connect(name);
      const old = api.connections.get(name);
      const original = vscode.window.showWarningMessage;
      const shown = [];
      let answer;
      vscode.window.showWarningMessage = (message, ...buttons) => {
        shown.push({ message, buttons });
        return new Promise((resolve) => (answer = resolve));
      };
      try {
        firstServer.kill('SIGKILL');
        await until(() => shown.length === 1, 'the warning is shown');
        assert.deepStrictEqual(shown[0], {
          message: `SIPC: the server of "${name}" closed the channel or exited.`,
          buttons: ['Reconnect', 'Disconnect'],
        });
      } finally {
        vscode.window.showWarningMessage = original;
      }
      const nextServer = spawnPeer(['recv', name, '--format', 'json']);
      await until(async () => (await api.channelsView.refresh()).find((n) => n.name === name && n.info.serverPid === nextServer.pid && n.info.serverAlive), 'the next server holds the channel');
      answer('Reconnect');
      const fresh = await until(() => {
        const current = api.connections.get(name);
        return current && current !== old && current.state === 'connected' && current;
      }, 'the connection is replaced by a connected one');
      assert.strictEqual(fresh.role, 'client');
      await fresh.send(Buffer.from('back'));
      const [message] = await nextServer.messages(1);
      assert.strictEqual(message.toString(), 'back');
    });
  });

  describe('inspector commands', () => {
    const webviewTabs = () =>
      vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => tab.input instanceof vscode.TabInputWebview);

    /** The open panel's snapshot once `ready(snapshot)` holds. */
    const shown = (mode, name, ready, what) =>
      until(() => {
        const snapshot = api.inspector.snapshot(mode, name);
        return snapshot && ready(snapshot) && snapshot;
      }, what);
    const messagesOf = (snapshot) =>
      snapshot.entries.filter((e) => e.kind === 'message').map((e) => [e.direction, Buffer.from(e.data).toString()]);

    it('opens the inspector on a connection and an observer on any channel, each showing its own traffic', async () => {
      const connected = uniqueName('insp');
      const observed = uniqueName('obs');
      const connectedPeer = spawnPeer(['recv', connected, '--format', 'json']);
      const observedServer = spawnPeer(['recv', observed, '--format', 'json']);
      await waitForChannel(api, connected);
      await waitForChannel(api, observed);
      await connect(connected);
      assert.strictEqual(await vscode.commands.executeCommand('sipc.openInspector', { name: connected }), connected);
      await until(() => webviewTabs().some((tab) => tab.label.includes(connected)), 'the inspector tab opens');
      // The tab shows this window's traffic on that connection, byte for byte.
      await shown('peer', connected, (v) => v.entries.some((e) => e.kind === 'event' && e.event === 'attached'), 'the inspector attaches');
      await vscode.commands.executeCommand('sipc.sendText', { name: connected, text: 'to the peer' });
      await connectedPeer.messages(1);
      const peerView = await shown('peer', connected, (v) => messagesOf(v).length > 0, 'the inspector lists the sent message');
      assert.strictEqual(peerView.title, `Inspect: ${connected}`);
      assert.deepStrictEqual(messagesOf(peerView), [['sent', 'to the peer']]);
      assert.strictEqual(api.inspector.snapshot('observer', connected), undefined, 'no observer was opened on it');

      const node = (await api.channelsView.refresh()).find((n) => n.name === observed);
      assert.strictEqual(await vscode.commands.executeCommand('sipc.inspectChannel', node), observed);
      await until(() => webviewTabs().some((tab) => tab.label.includes(observed)), 'the observer tab opens');
      // The observer shows what two other processes exchange, with its direction.
      await shown('observer', observed, (v) => v.entries.some((e) => e.kind === 'event' && e.event === 'observing'), 'the observer attaches');
      spawnPeer(['send', observed, 'between others']);
      await observedServer.messages(1);
      const observerView = await shown('observer', observed, (v) => messagesOf(v).length > 0, 'the observer lists the message');
      assert.strictEqual(observerView.title, `Observe: ${observed}`);
      assert.deepStrictEqual(messagesOf(observerView), [['to-server', 'between others']]);
      assert.strictEqual(api.inspector.snapshot('peer', observed), undefined, 'this window is not connected to it');
    });

    it('says so when asked to inspect a connection this window does not have', async () => {
      const errors = errorMessages();
      try {
        const name = uniqueName('none');
        assert.strictEqual(await vscode.commands.executeCommand('sipc.openInspector', { name }), undefined);
        assert.strictEqual(errors.messages[0], `Could not open the inspector: This window is not connected to "${name}".`);
      } finally {
        errors.restore();
      }
    });
  });

  describe('channels view and status bar', () => {
    it('lists channels with this window\'s role, pids and queue fill', async () => {
      const name = uniqueName('view');
      const peer = spawnPeer(['recv', name, '--format', 'json']);
      await waitForChannel(api, name);
      await connect(name);
      await vscode.commands.executeCommand('sipc.sendText', { name, text: 'x' });
      await peer.messages(1);
      const node = (await api.channelsView.refresh()).find((n) => n.name === name);
      assert.ok(node, 'the channel is listed');
      const item = api.channelsView.getTreeItem(node);
      assert.strictEqual(item.label, name);
      assert.match(item.description, /this window: client · connected · s→c 0\/\d+ · c→s \d+\/\d+/);
      assert.match(item.contextValue, /^sipcChannel here live$/);
      const details = api.channelsView.getChildren(node).map((d) => api.channelsView.getTreeItem(d));
      const byLabel = Object.fromEntries(details.map((d) => [d.label, d.description]));
      // Each pid with its process's name (sipc_process_describe): the CLI, and this extension host.
      assert.strictEqual(byLabel.Server, `pid ${peer.pid} sipc`);
      assert.match(byLabel.Client, new RegExp(`^pid ${process.pid} \\S.* \\(this window\\)$`));
      assert.match(byLabel['Client → server'], /1 message · 1 byte/);
      assert.strictEqual(byLabel['This window'], 'sent 1 · received 0');
      // The status bar follows traffic a moment later (updates are throttled).
      const expected = new RegExp(`${name} \\(client\\) ↑1 ↓0`);
      await until(() => expected.test(api.statusBar.text), `the status bar shows ${expected}`);
      // Plain text: a Markdown tooltip would be lexed on the extension host's main thread at every update.
      assert.match(api.statusBar.tooltip, new RegExp(`^• ${name} — client, [^\\n]*; sent 1, received 0$`, 'm'));
    });

    it('marks a stale channel and removes it', async () => {
      const name = uniqueName('stale');
      const server = spawnPeer(['recv', name, '--format', 'json']);
      await waitForChannel(api, name);
      server.kill('SIGKILL');
      await server.exited(5000);
      const node = await until(async () => (await api.channelsView.refresh()).find((n) => n.name === name && n.stale), 'the channel shows as stale');
      const item = api.channelsView.getTreeItem(node);
      assert.match(item.contextValue, /\bstale\b/);
      assert.match(item.description, /stale/);
      assert.deepStrictEqual(await vscode.commands.executeCommand('sipc.removeStaleChannel', node), [name]);
      assert.ok(!(await api.channelsView.refresh()).some((n) => n.name === name), 'the channel is gone');
    });

    it('refuses to remove a channel in use', async () => {
      const name = uniqueName('busy');
      spawnPeer(['recv', name, '--format', 'json']);
      await waitForChannel(api, name);
      const errors = errorMessages();
      try {
        assert.strictEqual(await vscode.commands.executeCommand('sipc.removeStaleChannel', { name }), undefined);
        assert.match(errors.messages[0] ?? '', /still in use \(server pid \d+\); only stale channels can be removed/);
      } finally {
        errors.restore();
      }
      assert.ok((await api.channelsView.refresh()).some((n) => n.name === name));
    });

    it('copies a channel name from the view', async () => {
      const name = uniqueName('copy');
      spawnPeer(['recv', name, '--format', 'json']);
      await waitForChannel(api, name);
      const node = (await api.channelsView.refresh()).find((n) => n.name === name);
      await vscode.commands.executeCommand('sipc.copyChannelName', node);
      assert.strictEqual(await vscode.env.clipboard.readText(), name);
    });
  });
});
