// Set Channel Schema… and Export Dissector… inside the real extension host: a mapping file (named by the
// sipc.decode.mappingFile setting) with a C header; a channel given a schema by the command; the Lua the export
// writes read back by the real tshark.
'use strict';

const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const vscode = require('vscode');
const { extensionApi, tempDir } = require('./helpers');

describe('decode: Set Channel Schema and Export Dissector', function () {
  this.timeout(60000);
  let dir;

  before(async () => {
    await extensionApi();
    dir = await tempDir('dissector-suite');
    fs.mkdirSync(path.join(dir, 'include'));
    fs.writeFileSync(path.join(dir, 'include', 'proto.h'),
      '#include <stdint.h>\nstruct sample { uint16_t type; uint16_t channel; uint32_t seq; double value; };\n');
    fs.writeFileSync(path.join(dir, 'channels.json'), JSON.stringify({
      channels: [
        { match: 'json.*', format: 'json' },
        { match: 'sensor.*', schema: 'include/proto.h', type: 'struct sample' },
      ],
    }));
    await vscode.workspace.getConfiguration('sipc.decode').update('mappingFile', path.join(dir, 'channels.json'), vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    await vscode.workspace.getConfiguration('sipc.decode').update('mappingFile', undefined, vscode.ConfigurationTarget.Global);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes the dissector of the channel\'s schema, and tshark loads it', async () => {
    const to = path.join(dir, 'sample.lua');
    const written = await vscode.commands.executeCommand('sipc.exportDissector', { name: 'sensor.left', to });
    assert.strictEqual(written, to);
    const lua = fs.readFileSync(to, 'utf8');
    assert.match(lua, /ProtoField\.double\("sipc\.sample\.value"/);
    assert.match(lua, /Channels "sensor\.\*", schema include\/proto\.h \(struct sample\)/);
    if (spawnSync('tshark', ['--version']).status !== 0) return;
    const fields = spawnSync('tshark', ['-G', 'fields', '-X', `lua_script:${to}`], { encoding: 'utf8', maxBuffer: 256 << 20 });
    assert.strictEqual(fields.status, 0, fields.stderr);
    assert.match(fields.stdout, /\tsipc\.sample\.seq\t/);
  });

  it('refuses a channel whose schema is not a C header, without writing anything', async () => {
    const to = path.join(dir, 'json.lua');
    const result = await vscode.commands.executeCommand('sipc.exportDissector', { name: 'json.x', to });
    assert.strictEqual(result, undefined);
    assert.strictEqual(fs.existsSync(to), false);
  });

  it('Set Channel Schema puts the channel first in the mapping (replacing its old entry), and the export follows it', async () => {
    const header = path.join(dir, 'include', 'other.h');
    fs.writeFileSync(header, '#include <stdint.h>\nstruct reading { uint32_t seq; float v; };\nstruct status { uint8_t ok; };\n');
    const file = await vscode.commands.executeCommand('sipc.setChannelSchema', { name: 'sensor.left', header, type: 'struct reading' });
    assert.strictEqual(file, path.join(dir, 'channels.json'));
    let mapping = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepStrictEqual(mapping.channels[0], { match: 'sensor.left', schema: 'include/other.h', type: 'struct reading' });
    assert.strictEqual(mapping.channels.length, 3, 'the other entries stay');
    await vscode.commands.executeCommand('sipc.setChannelSchema', { name: 'sensor.left', header, type: 'status' });
    mapping = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepStrictEqual(mapping.channels.map((e) => e.match), ['sensor.left', 'json.*', 'sensor.*'], 'replaced, not added twice');
    const to = path.join(dir, 'status.lua');
    await vscode.commands.executeCommand('sipc.exportDissector', { name: 'sensor.left', to });
    assert.match(fs.readFileSync(to, 'utf8'), /"sipc\.status\.ok"/);
    assert.strictEqual(await vscode.commands.executeCommand('sipc.setChannelSchema', { name: 'x', header, type: 'struct nope' }), undefined, 'an unknown type is refused');
  });

  it('Set Channel Schema reads a header\'s nested includes (asynchronously), and two runs at once both land', async () => {
    fs.mkdirSync(path.join(dir, 'include', 'nested'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'include', 'nested', 'inner.h'), '#include <stdint.h>\nstruct inner { uint16_t a; };\n');
    fs.writeFileSync(path.join(dir, 'include', 'middle.h'), '#include "nested/inner.h"\nstruct middle { struct inner i; uint8_t b; };\n');
    const header = path.join(dir, 'include', 'outer.h');
    fs.writeFileSync(header, '#include "middle.h"\nstruct outer { struct middle m; uint32_t c; };\n');
    const [first, second] = await Promise.all([
      vscode.commands.executeCommand('sipc.setChannelSchema', { name: 'nested.one', header, type: 'struct outer' }),
      vscode.commands.executeCommand('sipc.setChannelSchema', { name: 'nested.two', header, type: 'struct inner' }),
    ]);
    const file = path.join(dir, 'channels.json');
    assert.deepStrictEqual([first, second], [file, file]);
    const matches = JSON.parse(fs.readFileSync(file, 'utf8')).channels.map((e) => e.match);
    assert.ok(matches.includes('nested.one') && matches.includes('nested.two'), `both entries kept: ${matches.join(', ')}`);
  });

  it('Set Channel Schema leaves a mapping file it cannot read back exactly as it was', async () => {
    const file = path.join(dir, 'channels.json');
    const saved = fs.readFileSync(file, 'utf8');
    const broken = '{ "channels": [ { "match": "kept.*", "format": "json" }, ] }\n'; // a trailing comma: not JSON
    fs.writeFileSync(file, broken);
    try {
      const header = path.join(dir, 'include', 'proto.h');
      const result = await vscode.commands.executeCommand('sipc.setChannelSchema', { name: 'sensor.right', header, type: 'struct sample' });
      assert.strictEqual(result, undefined, 'refused (the error is shown to the user)');
      assert.strictEqual(fs.readFileSync(file, 'utf8'), broken, 'not clobbered');
    } finally {
      fs.writeFileSync(file, saved);
    }
  });
});
