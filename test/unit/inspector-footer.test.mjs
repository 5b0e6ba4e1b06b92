// The statistics footer's who-is-there text (peersText, extension/src/inspector/shared/stats.ts) for every state of
// a holder, and the channel direction of a window's received message (channelDirection, model.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore } from './inspector-core.mjs';

const core = await loadCore();
const base = { state: 'connected', directions: [], retained: 0, retainedBytes: 0, dropped: 0, maxMessages: 1 };

test('peersText: a live holder by its process when known, else its pid; a dead one by pid; none as a dash', () => {
  const server = (fields) => core.peersText({ ...base, ...fields }).split(' · ')[0];
  assert.equal(server({ serverPid: 42, serverAlive: true, serverProcess: '42 node' }), 'server 42 node');
  assert.equal(server({ serverPid: 42, serverProcess: '42 node' }), 'server 42 node', 'liveness unknown: still named');
  assert.equal(server({ serverPid: 42, serverAlive: true }), 'server 42', 'no process name: the pid');
  assert.equal(server({ serverPid: 42, serverAlive: false, serverProcess: '42 node' }), 'server 42 (dead)', 'a dead holder by pid, not its old name');
  assert.equal(server({ serverPid: 42, serverAlive: false }), 'server 42 (dead)');
  for (const pid of [0, -1, undefined]) {
    assert.equal(server({ serverPid: pid, serverAlive: false, serverProcess: 'x' }), 'server —', `pid ${pid}: nobody, dead or not`);
  }
  assert.equal(core.peersText({ ...base, clientPid: 7, clientAlive: true, clientProcess: '7 python3' }), 'server — · client 7 python3');
  assert.equal(core.peersText({ ...base, clientPid: 0, clientAlive: false }), 'server — · client —');
});

test('peersText: an opened file by its name and the side it was recorded from', () => {
  assert.equal(core.peersText({ ...base, serverPid: 4, file: { name: 'a.pcapng', role: 'client' } }), 'a.pcapng · recorded by the client');
  assert.equal(core.peersText({ ...base, file: { name: 'a.pcapng', role: 'server' } }), 'a.pcapng · recorded by the server');
  assert.equal(core.peersText({ ...base, file: { name: 'a.jsonl', role: 'observer' } }), 'a.jsonl · recorded by an observer');
  assert.equal(core.peersText({ ...base, file: { name: 'a.jsonl' } }), 'a.jsonl');
});

test('channelDirection: a window\'s sent and received in the channel\'s direction for each role; channel directions stay', () => {
  assert.equal(core.channelDirection('sent', 'server'), 'to-client');
  assert.equal(core.channelDirection('sent', 'client'), 'to-server');
  assert.equal(core.channelDirection('received', 'server'), 'to-server');
  assert.equal(core.channelDirection('received', 'client'), 'to-client');
  assert.equal(core.channelDirection('to-server', 'server'), 'to-server');
  assert.equal(core.channelDirection('to-client', 'client'), 'to-client');
  assert.equal(core.channelDirection('to-client', 'server'), 'to-client');
  assert.equal(core.channelDirection('to-server', 'client'), 'to-server');
});
