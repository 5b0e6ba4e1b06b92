// Export Dissector… inside the real extension host: a mapping file (named by the sipc.decode.mappingFile setting)
// with a C header, the command run for a channel name, and the Lua it writes read back by the real tshark.
'use strict';

const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const vscode = require('vscode');
const { extensionApi } = require('./helpers');

describe('decode: Export Dissector', function () {
  this.timeout(60000);
  let dir;

  before(async () => {
    await extensionApi();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipc-dissector-suite-'));
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
});
