// Opens each .vsix given and checks that it is what its target needs and nothing else: one native
// helper folder, dist/native/<target>/, whose binary has the target's format and CPU (ELF/PE/Mach-O,
// x86-64/aarch64) and is stripped (no debug information, no static or local symbols); koffi's package for
// that target only; the manifest runs in the workspace (extensionKind) and carries the marketplace
// metadata (icon, gallery banner, changelog).
// Usage: node test/package/vsix-check.mjs FILE.vsix... (exit 1 on the first package that fails)
import { execFileSync } from 'node:child_process';
import { binaryFormat, debugInfo, expectedFormat } from '../cross/binary-format.mjs';

const nativeLibraries = ['libsipc.so', 'libsipc.dylib', 'sipc.dll'];
/** The file name extension/src/api/native.ts loads on each OS. */
const loadedLibrary = { linux: 'libsipc.so', win32: 'sipc.dll', darwin: 'libsipc.dylib' };

/** Every entry of a zip file as name → bytes (Python's zipfile: node has no unzip of its own). */
function readZip(file) {
  const script = 'import base64,json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\n' +
    'print(json.dumps({n: base64.b64encode(z.read(n)).decode() for n in z.namelist() if not n.endswith("/")}))';
  const entries = JSON.parse(execFileSync('python3', ['-c', script, file], { maxBuffer: 256 << 20 }).toString());
  return new Map(Object.entries(entries).map(([name, data]) => [name, Buffer.from(data, 'base64')]));
}

function checkVsix(file) {
  const entries = readZip(file);
  const problems = [];
  const vsixManifest = entries.get('extension.vsixmanifest')?.toString() ?? '';
  const target = /TargetPlatform="([^"]+)"/.exec(vsixManifest)?.[1];
  if (target === undefined) return [`no TargetPlatform in extension.vsixmanifest`];
  const want = expectedFormat(target);

  const nativeFolders = new Set([...entries.keys()].map((n) => /^extension\/dist\/native\/([^/]+)\//.exec(n)?.[1]).filter(Boolean));
  if (nativeFolders.size !== 1 || !nativeFolders.has(target)) problems.push(`native folders ${[...nativeFolders].join(', ') || 'none'}, expected only ${target}`);
  const libraries = nativeLibraries.map((lib) => `extension/dist/native/${target}/${lib}`).filter((name) => entries.has(name));
  const loaded = `extension/dist/native/${target}/${loadedLibrary[target.split('-')[0]]}`;
  if (libraries.length !== 1 || libraries[0] !== loaded) problems.push(`helper libraries ${libraries.join(', ') || 'none'}, expected only ${loaded} (the path the extension loads)`);
  for (const name of libraries) {
    const got = binaryFormat(entries.get(name));
    if (got.format !== want.format || got.arch !== want.arch) problems.push(`${name} is ${got.format}/${got.arch}, expected ${want.format}/${want.arch}`);
    const unstripped = debugInfo(entries.get(name));
    if (unstripped.length > 0) problems.push(`${name} is not stripped: ${unstripped.join(', ')}`);
  }
  const koffiPackages = new Set([...entries.keys()].map((n) => /^extension\/node_modules\/@koromix\/([^/]+)\//.exec(n)?.[1]).filter(Boolean));
  if (koffiPackages.size !== 1 || !koffiPackages.has(`koffi-${target}`)) problems.push(`koffi packages ${[...koffiPackages].join(', ') || 'none'}, expected only koffi-${target}`);

  const manifest = JSON.parse(entries.get('extension/package.json')?.toString() ?? '{}');
  if (JSON.stringify(manifest.extensionKind) !== '["workspace"]') problems.push(`extensionKind ${JSON.stringify(manifest.extensionKind)}, expected ["workspace"]`);
  if (typeof manifest.icon !== 'string' || !entries.has(`extension/${manifest.icon}`)) problems.push(`icon ${manifest.icon} missing`);
  if (!manifest.galleryBanner?.color) problems.push('no galleryBanner');
  if (!/Content\.Changelog/.test(vsixManifest)) problems.push('no changelog');
  return problems.map((p) => `${file} (${target}): ${p}`);
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node test/package/vsix-check.mjs FILE.vsix...');
  process.exit(2);
}
for (const file of files) {
  const problems = checkVsix(file);
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
  console.log(`${file}: ok`);
}
