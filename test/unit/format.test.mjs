// How the channels view words a channel's facts (extension/src/format.ts): here, its creation time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFormat } from './inspector-core.mjs';

const format = await loadFormat();

test('a channel without a creation time (a creator died before initialising it) says so, never 1970', () => {
  const unknown = format.describeCreated(undefined);
  assert.equal(unknown, 'creation time unknown (never initialised)');
  const when = new Date(Date.UTC(2026, 10, 30, 11, 0, 0));
  assert.equal(format.describeCreated(when), `created ${when.toLocaleString()}`);
});
