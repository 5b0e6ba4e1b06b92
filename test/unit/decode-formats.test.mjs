// Protocol Buffers, MessagePack, CBOR and JSON channels: values encoded by each format's own library come back
// through the mapping as the same field tree a C struct gives (64-bit integers exact, enums by name, nesting,
// arrays), the field filter works on them, and bytes that are not valid in the format are a BAD_ENCODING problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode as encodeMsgpack } from '@msgpack/msgpack';
import { encode as encodeCbor } from 'cbor2';
import protobuf from 'protobufjs';
import { loadDecode } from './inspector-core.mjs';

const d = await loadDecode();

const PROTO = `syntax = "proto3";
package telemetry;
import "common.proto";
enum Unit { UNIT_NONE = 0; CELSIUS = 1; KELVIN = 2; }
message Reading {
  uint32 seq = 1;
  double value = 2;
  Unit unit = 3;
  common.Origin origin = 4;
  repeated sint64 history = 5;
  fixed64 stamp = 6;
  bytes raw = 7;
  string label = 8;
}`;
const COMMON = `syntax = "proto3";
package common;
message Origin { string host = 1; int32 pid = 2; }`;

const files = { '/ws/.sipc/proto/telemetry.proto': PROTO, '/ws/.sipc/proto/common.proto': COMMON };
const read = (p) => files[p];

function load(entry) {
  const mapping = d.parseMapping(JSON.stringify({ channels: [{ match: '*', ...entry }] }));
  return d.loadEntry(d.findEntry(mapping, 'x'), '/ws/.sipc/channels.json', read);
}

const value = (m, path) => d.fieldAt(m, path)?.value;

test('protobuf: a .proto with an import, one message type; values from protobufjs encode come back exact', () => {
  const schema = load({ format: 'protobuf', schema: 'proto/telemetry.proto', type: 'telemetry.Reading' });
  assert.equal(schema.description, 'protobuf telemetry.Reading');
  const root = protobuf.parse(COMMON, new protobuf.Root(), { keepCase: true }).root;
  protobuf.parse(PROTO.replace('import "common.proto";', ''), root, { keepCase: true });
  const Reading = root.lookupType('telemetry.Reading');
  const bytes = Reading.encode(Reading.fromObject({
    seq: 7, value: 21.5, unit: 'KELVIN', origin: { host: 'probe', pid: 42 }, history: ['-9007199254740993', '3'],
    stamp: '18446744073709551615', raw: Buffer.from([1, 2, 255]), label: 'left',
  })).finish();
  const m = schema.decode(bytes);
  assert.deepEqual(m.problems, []);
  assert.equal(m.type, 'telemetry.Reading');
  assert.equal(value(m, 'seq'), 7);
  assert.equal(value(m, 'value'), 21.5);
  assert.equal(value(m, 'unit'), 'KELVIN');
  assert.equal(value(m, 'origin.host'), 'probe');
  assert.equal(value(m, 'origin.pid'), 42);
  assert.equal(value(m, 'history[0]'), -9007199254740993n);
  assert.equal(value(m, 'stamp'), 18446744073709551615n);
  assert.equal(d.fieldAt(m, 'raw').display, '3 bytes: 01 02 ff');
  assert.equal(d.fieldAt(m, 'seq').unlocated, true, 'protobufjs does not say where a field sits');
  assert.equal(d.compileFieldFilter('seq == 7 && unit == "KELVIN" && origin.pid > 40')(m), true);
  assert.equal(d.compileFieldFilter('Reading.seq == 7')(m), false, 'a type prefix is a struct name of C schemas only');

  const bad = schema.decode(Buffer.from([0x0a, 0xff, 0xff]));
  assert.deepEqual(bad.problems.map((p) => p.code), ['BAD_ENCODING']);
  assert.match(bad.problems[0].message, /^not valid protobuf: /);
  assert.throws(() => load({ format: 'protobuf', schema: 'proto/telemetry.proto', type: 'telemetry.Nope' }), { code: 'BAD_MAPPING' });
  assert.throws(() => load({ format: 'protobuf', schema: 'proto/missing.proto', type: 'x' }), { code: 'INCLUDE' });
  assert.throws(() => d.parseMapping('{"channels":[{"match":"*","format":"protobuf","schema":"a.proto","tag":{"offset":0,"type":"u8"},"cases":{"1":"x"}}]}'), /names one message "type"/);
});

test('MessagePack, CBOR and JSON: nested maps and arrays, exact 64-bit integers, bytes; bad input reported', () => {
  const sample = { type: 2, reading: { value: 3.25, ok: true, tags: ['a', 'b'] }, big: 18446744073709551615n, raw: new Uint8Array([9, 8]) };
  const msgpack = load({ format: 'msgpack' });
  const m = msgpack.decode(encodeMsgpack(sample, { useBigInt64: true }));
  assert.deepEqual(m.problems, []);
  assert.equal(value(m, 'reading.value'), 3.25);
  assert.equal(value(m, 'reading.ok'), true);
  assert.equal(value(m, 'reading.tags[1]'), 'b');
  assert.equal(value(m, 'big'), 18446744073709551615n);
  assert.equal(d.fieldAt(m, 'raw').display, '2 bytes: 09 08');
  assert.equal(d.compileFieldFilter('type == 2 && reading.value > 3')(m), true);
  assert.deepEqual(msgpack.decode(Buffer.from([0xc1])).problems.map((p) => p.code), ['BAD_ENCODING']);

  const cbor = load({ format: 'cbor' });
  const c = cbor.decode(encodeCbor(sample));
  assert.deepEqual(c.problems, []);
  assert.equal(value(c, 'reading.tags[0]'), 'a');
  assert.equal(value(c, 'big'), 18446744073709551615n);
  assert.equal(d.fieldAt(c, 'raw').display, '2 bytes: 09 08');
  assert.deepEqual(cbor.decode(Buffer.from([0x1f])).problems.map((p) => p.code), ['BAD_ENCODING']);

  const json = load({ format: 'json' });
  const j = json.decode(Buffer.from('{"type":2,"reading":{"value":3.25,"tags":["a"]},"name":"é"}'));
  assert.equal(value(j, 'reading.value'), 3.25);
  assert.equal(value(j, 'name'), 'é');
  assert.equal(d.fieldAt(j, 'reading.tags').display, '[1 item]');
  assert.deepEqual(json.decode(Buffer.from('{"a":')).problems.map((p) => p.code), ['BAD_ENCODING']);
  assert.deepEqual(json.decode(Buffer.from([0x22, 0xff, 0x22])).problems.map((p) => p.code), ['BAD_ENCODING'], 'invalid UTF-8 is not JSON');
  assert.throws(() => d.parseMapping('{"channels":[{"match":"*","format":"yaml"}]}'), /format "yaml"/);
});

test('protobuf with the type chosen by a header field: [uint8 tag][pad][payload]', () => {
  const schema = load({ format: 'protobuf', schema: 'proto/telemetry.proto', tag: { offset: 0, type: 'uint8_t' }, payloadOffset: 2,
    cases: { 1: 'telemetry.Reading', 2: 'common.Origin' } });
  assert.equal(schema.description, 'protobuf tagged by uint8_t at offset 0, payload at 2: 1 telemetry.Reading, 2 common.Origin');
  const root = protobuf.parse(COMMON, new protobuf.Root(), { keepCase: true }).root;
  const Origin = root.lookupType('common.Origin');
  const payload = Origin.encode(Origin.fromObject({ host: 'probe', pid: 9 })).finish();
  const m = schema.decode(Buffer.concat([Buffer.from([2, 0]), payload]));
  assert.deepEqual(m.problems, []);
  assert.equal(m.type, 'common.Origin');
  assert.equal(value(m, 'host'), 'probe');
  assert.deepEqual(schema.decode(Buffer.concat([Buffer.from([7, 0]), payload])).problems.map((p) => p.code), ['UNKNOWN_TAG']);
  assert.deepEqual(schema.decode(Buffer.from([1])).problems.map((p) => p.code), ['TOO_SHORT']);
  assert.deepEqual(schema.decode(Buffer.from([1, 0, 0x0a, 0xff])).problems.map((p) => p.code), ['BAD_ENCODING']);
  assert.throws(() => load({ format: 'protobuf', schema: 'proto/telemetry.proto', tag: { offset: 0, type: 'uint16_t' }, payloadOffset: 1, cases: { 1: 'telemetry.Reading' } }), /payload must start after the tag/);
  assert.throws(() => d.parseMapping('{"channels":[{"match":"*","format":"protobuf","schema":"a.proto","tag":{"offset":0,"type":"uint8_t"},"cases":{"1":"x"}}]}'), /payloadOffset/);
});
