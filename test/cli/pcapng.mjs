// A strict little pcapng reader for the tests: checks every block's framing and returns the section's
// interfaces and packets, so a test can compare a recording byte for byte (independently of sipc's reader).
import assert from 'node:assert/strict';

const pad4 = (n) => (n + 3) & ~3;

function options(buffer, at, end) {
  const list = [];
  while (at + 4 <= end) {
    const code = buffer.readUInt16LE(at);
    const length = buffer.readUInt16LE(at + 2);
    at += 4;
    if (code === 0) break;
    assert.ok(at + pad4(length) <= end, `option ${code} runs past its block`);
    list.push({ code, value: buffer.subarray(at, at + length) });
    at += pad4(length);
  }
  return list;
}

/** { application, interfaces: [{ name, linkType, tsresol, comments }], packets: [{ interface, channel, timestampNs, flags, data, length, comment }] } */
export function parsePcapng(buffer) {
  assert.equal(buffer.readUInt32LE(0), 0x0a0d0d0a, 'starts with a section header');
  const interfaces = [];
  const packets = [];
  let application = null;
  let at = 0;
  while (at < buffer.length) {
    const type = buffer.readUInt32LE(at);
    const total = buffer.readUInt32LE(at + 4);
    assert.ok(total >= 12 && total % 4 === 0 && at + total <= buffer.length, `block at ${at} has a valid length`);
    assert.equal(buffer.readUInt32LE(at + total - 4), total, `block at ${at} repeats its length`);
    const body = at + 8;
    const end = at + total - 4;
    if (type === 0x0a0d0d0a) {
      assert.equal(buffer.readUInt32LE(body), 0x1a2b3c4d, 'little-endian byte-order magic');
      interfaces.length = 0;
      const appl = options(buffer, body + 16, end).find((o) => o.code === 4);
      application = appl ? appl.value.toString('utf8') : null;
    } else if (type === 1) {
      const opts = options(buffer, body + 8, end);
      const name = opts.find((o) => o.code === 2);
      const tsresol = opts.find((o) => o.code === 9);
      interfaces.push({ linkType: buffer.readUInt16LE(body), name: name ? name.value.toString('utf8') : null,
        tsresol: tsresol ? tsresol.value[0] : 6, comments: opts.filter((o) => o.code === 1).map((o) => o.value.toString('utf8')) });
    } else if (type === 6) {
      const iface = buffer.readUInt32LE(body);
      assert.ok(iface < interfaces.length, 'packet names a known interface');
      const high = BigInt(buffer.readUInt32LE(body + 4));
      const low = BigInt(buffer.readUInt32LE(body + 8));
      const captured = buffer.readUInt32LE(body + 12);
      const length = buffer.readUInt32LE(body + 16);
      const data = Buffer.from(buffer.subarray(body + 20, body + 20 + captured));
      const opts = options(buffer, body + 20 + pad4(captured), end);
      const flags = opts.find((o) => o.code === 2);
      const comment = opts.find((o) => o.code === 1);
      packets.push({ interface: iface, channel: interfaces[iface].name, timestampNs: (high << 32n) | low,
        flags: flags ? flags.value.readUInt32LE(0) : null, data, length,
        comment: comment ? comment.value.toString('utf8') : null });
    }
    at += total;
  }
  return { application, interfaces, packets };
}

/** 'to-server' for epb_flags outbound (2), 'to-client' for inbound (1), null for an event (0). */
export function packetDirection(packet) {
  const bits = packet.flags & 3;
  return bits === 2 ? 'to-server' : bits === 1 ? 'to-client' : null;
}
