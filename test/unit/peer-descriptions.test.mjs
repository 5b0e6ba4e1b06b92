// The inspector's statistics name each holder on every tick (500 ms) from PeerDescriptions. Describing a process
// runs on a native thread of its own, so a holder is described once when first seen and its state again only every
// PEER_STATE_REFRESH_MS, not once per holder per tick; a pid that stopped holding is forgotten and described afresh
// (a new process may have its pid). The describe function and the clock are the test's, so nothing here waits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadPeerProcess } from './inspector-core.mjs';

const { PeerDescriptions, PEER_STATE_REFRESH_MS } = await loadPeerProcess();

/** A describe function that counts its calls and answers from `states` (pid -> state), resolved at once. */
function countingDescribe(states = new Map()) {
  const calls = [];
  const describeProcess = (pid) => {
    calls.push(pid);
    return Promise.resolve({ pid, name: `proc${pid}`, state: states.get(pid) ?? 'running', traced: false });
  };
  return { calls, describeProcess };
}

/** Lets the described promises settle (they resolve at once; their callbacks run in the next microtasks). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** One statistics tick as the panel makes it: the holders, then each one's description. */
function tick(peers, pids) {
  peers.holders(pids);
  return pids.map((pid) => peers.peer(pid, undefined));
}

describe('PeerDescriptions (the inspector names its holders)', () => {
  it('describes a holder once while it holds the role, over many ticks', async () => {
    const { calls, describeProcess } = countingDescribe();
    let now = 0;
    const peers = new PeerDescriptions(describeProcess, () => now);
    const first = tick(peers, [101, 202]);
    assert.deepEqual(first.map((p) => p.name), ['', ''], 'the first answer is the pid alone');
    await settle();
    for (let i = 0; i < 9; i++) { // 4.5 s of 500 ms ticks, under the refresh time
      now += 500;
      const answered = tick(peers, [101, 202]);
      assert.deepEqual(answered.map((p) => `${p.pid} ${p.name} ${p.activity}`), ['101 proc101 running', '202 proc202 running']);
      await settle();
    }
    assert.deepEqual(calls, [101, 202], 'one description per holder, not one per holder per tick');
  });

  it('reads a holder\'s state again after the refresh time (a SIGSTOP shows), once per holder', async () => {
    const states = new Map();
    const { calls, describeProcess } = countingDescribe(states);
    let now = 0;
    const peers = new PeerDescriptions(describeProcess, () => now);
    tick(peers, [101]);
    await settle();
    states.set(101, 'stopped');
    now += PEER_STATE_REFRESH_MS;
    tick(peers, [101]); // asks again; this answer is still the old description
    await settle();
    now += 500;
    assert.equal(tick(peers, [101])[0].activity, 'stopped');
    assert.deepEqual(calls, [101, 101]);
  });

  it('forgets a pid that stopped holding: the next holder with that pid is described afresh', async () => {
    const { calls, describeProcess } = countingDescribe();
    let now = 0;
    const peers = new PeerDescriptions(describeProcess, () => now);
    tick(peers, [101]);
    await settle();
    now += 500;
    tick(peers, []); // the role is free for a tick
    now += 500;
    assert.equal(tick(peers, [101])[0].name, '', 'not the old holder\'s description');
    await settle();
    assert.deepEqual(calls, [101, 101]);
  });

  it('asks one at a time per holder, and a failed description is not asked again on every tick', async () => {
    const calls = [];
    let fail;
    const pending = new Promise((_, reject) => { fail = reject; });
    const peers = new PeerDescriptions((pid) => { calls.push(pid); return pending; }, () => 0);
    tick(peers, [303]);
    tick(peers, [303]);
    assert.deepEqual(calls, [303], 'a second tick while the first description is on its way asks nothing');
    fail(new Error('an older library'));
    await settle();
    const answered = tick(peers, [303])[0];
    assert.deepEqual({ pid: answered.pid, name: answered.name, activity: answered.activity }, { pid: 303, name: '', activity: 'unknown' });
    assert.deepEqual(calls, [303]);
  });
});
