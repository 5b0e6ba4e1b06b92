// The Node peer of the interoperability matrix, on the Node API (dist/api.js); same command line as peer.c.
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stream } from './stream.mjs';

const api = createRequire(import.meta.url)(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'api.js'));
const WAIT_MS = 60000;

async function exchange(name, max, depth, count, sendSeed, recvSeed, sendNoNewline, recvNoNewline) {
  const channel = await api.open(name, { maxMessageSize: max, queueDepth: depth });
  try {
    await channel.connect({ timeoutMs: WAIT_MS });
    const size = channel.maxMessageSize ?? max;
    const outgoing = new Stream(sendSeed, size, sendNoNewline === 1);
    const expected = new Stream(recvSeed, size, recvNoNewline === 1);
    const sendAll = async () => {
      for (let i = 0; i < count; i++) await channel.send(outgoing.message(), { timeoutMs: WAIT_MS });
    };
    const receiveAll = async () => {
      for (let i = 0; i < count; i++) {
        const got = await channel.receive({ timeoutMs: WAIT_MS });
        const want = expected.message();
        if (!got.equals(want)) throw new Error(`mismatch at message ${i}: ${got.length} bytes, expected ${want.length}`);
      }
    };
    await Promise.all([sendAll(), receiveAll()]);
    console.log(`ok exchanged ${count} each way`);
  } finally {
    await channel.close();
  }
}

async function waitGone(name) {
  const channel = await api.open(name);
  try {
    await channel.connect({ timeoutMs: WAIT_MS });
    console.log('connected');
    for (;;) {
      try {
        await channel.receive();
      } catch (error) {
        console.log(error.code);
        return error.code === 'PEER_GONE' ? 0 : 1;
      }
    }
  } finally {
    await channel.close();
  }
}

async function observe(name, count, serverSeed, clientSeed, serverNoNewline, clientNoNewline) {
  const max = (await api.stat(name)).maxMessageSize;
  const observer = await api.observe(name, { capacity: max });
  const streams = { 'to-client': new Stream(serverSeed, max, serverNoNewline === 1), 'to-server': new Stream(clientSeed, max, clientNoNewline === 1) };
  const nextIndex = { 'to-client': 0, 'to-server': 0 };
  let seen = 0;
  let missed = 0;
  try {
    await new Promise((resolveDone, rejectDone) => {
      observer.on('message', (m) => {
        let want = Buffer.alloc(0);
        while (nextIndex[m.direction] <= m.sequence) {
          want = streams[m.direction].message();
          nextIndex[m.direction]++;
        }
        if (m.length !== want.length || !m.data.equals(want)) {
          rejectDone(new Error(`observed message ${m.direction}/${m.sequence} differs`));
          return;
        }
        seen++;
        missed += m.missed;
        if (seen + missed >= 2 * count) resolveDone();
      });
      observer.on('gone', () => rejectDone(new Error(`the channel went away after ${seen + missed} messages`)));
      observer.on('error', rejectDone);
      console.log('watching');
    });
  } finally {
    await observer.close();
  }
  console.log(`ok observed ${seen} missed ${missed}`);
}

const [mode, name, ...rest] = process.argv.slice(2);
const numbers = rest.map(Number);
try {
  if (mode === 'exchange' && rest.length === 7) await exchange(name, ...numbers);
  else if (mode === 'wait-gone' && rest.length === 0) process.exitCode = await waitGone(name);
  else if (mode === 'observe' && rest.length === 5) await observe(name, ...numbers);
  else {
    console.error('usage: see test/interop/peers/peer.c');
    process.exitCode = 2;
  }
} catch (error) {
  console.log(`${error.code ?? 'ERROR'}: ${error.message}`);
  process.exitCode = 1;
}
