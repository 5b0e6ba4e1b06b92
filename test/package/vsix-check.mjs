// Opens each .vsix given and checks that it is what its target needs and nothing else: one native
// helper folder, dist/native/<target>/, whose binary has the target's format and CPU (ELF/PE/Mach-O,
// x86-64/aarch64) and is stripped (no debug information, no static or local symbols); koffi's package for
// that target only; the manifest runs in the workspace (extensionKind) and carries the marketplace
// metadata the Marketplace and Open VSX show (publisher, categories, icon, gallery banner, changelog), and the
// links to the public repository exactly when packaging found one (test/package/repository-links.mjs, resolved
// here from the same environment and git remote): repository, homepage and bugs in the manifest and vsce's
// Links.Source in extension.vsixmanifest, or none of them.
// Usage: node test/package/vsix-check.mjs FILE.vsix... (exit 1 on the first package that fails)
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { binaryFormat, debugInfo, expectedFormat } from '../cross/binary-format.mjs';
import { repositoryLinksOrExit } from './repository-links.mjs';

const nativeLibraries = ['libsipc.so', 'libsipc.dylib', 'sipc.dll'];
/** The file name extension/src/api/native.ts loads on each OS. */
const loadedLibrary = { linux: 'libsipc.so', win32: 'sipc.dll', darwin: 'libsipc.dylib' };

/** Every entry of a zip file as name → bytes (Python's zipfile: node has no unzip of its own). */
export function readZip(file) {
  const script = 'import base64,json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\n' +
    'print(json.dumps({n: base64.b64encode(z.read(n)).decode() for n in z.namelist() if not n.endswith("/")}))';
  const entries = JSON.parse(execFileSync('python3', ['-c', script, file], { maxBuffer: 256 << 20 }).toString());
  return new Map(Object.entries(entries).map(([name, data]) => [name, Buffer.from(data, 'base64')]));
}

/** What is wrong with the manifest's marketplace metadata and links (none: []). */
export function metadataProblems(manifest, vsixManifest, entries, links) {
  const problems = [];
  if (typeof manifest.publisher !== 'string' || manifest.publisher === '' || !vsixManifest.includes(`Publisher="${manifest.publisher}"`)) problems.push(`publisher ${manifest.publisher} missing`);
  if (!Array.isArray(manifest.categories) || manifest.categories.length === 0) problems.push('no categories');
  if (typeof manifest.icon !== 'string' || !entries.has(`extension/${manifest.icon}`)) problems.push(`icon ${manifest.icon} missing`);
  const icon = typeof manifest.icon === 'string' ? entries.get(`extension/${manifest.icon}`) : undefined;
  // The Marketplace wants a PNG icon of at least 128x128 pixels (width and height: big-endian at 16 and 20 of IHDR).
  if (icon !== undefined && (icon.length < 24 || icon.toString('latin1', 1, 4) !== 'PNG' || icon.readUInt32BE(16) < 128 || icon.readUInt32BE(20) < 128)) problems.push(`icon ${manifest.icon} is not a PNG of at least 128x128`);
  if (!manifest.galleryBanner?.color || !manifest.galleryBanner?.theme) problems.push('no galleryBanner color and theme');
  for (const [asset, what] of [['Content.Changelog', 'changelog'], ['Content.License', 'licence']]) {
    const path = new RegExp(`Type="Microsoft\\.VisualStudio\\.Services\\.${asset.replace('.', '\\.')}" Path="([^"]+)"`).exec(vsixManifest)?.[1];
    if (path === undefined || !(entries.get(path)?.length > 0)) problems.push(`no ${what}`);
  }
  const source = /Id="Microsoft\.VisualStudio\.Services\.Links\.Source" Value="([^"]*)"/.exec(vsixManifest)?.[1];
  if ('missing' in links) {
    for (const field of ['repository', 'homepage', 'bugs']) if (manifest[field] !== undefined) problems.push(`${field} ${JSON.stringify(manifest[field])} although packaging found no repository`);
    if (source !== undefined) problems.push(`Links.Source ${source} although packaging found no repository`);
  } else {
    if (manifest.repository?.url !== links.repository) problems.push(`repository ${JSON.stringify(manifest.repository)}, expected ${links.repository}`);
    if (manifest.homepage !== links.homepage) problems.push(`homepage ${manifest.homepage}, expected ${links.homepage}`);
    if (manifest.bugs?.url !== links.bugs) problems.push(`bugs ${JSON.stringify(manifest.bugs)}, expected ${links.bugs}`);
    if (source === undefined || !source.startsWith(links.repository)) problems.push(`Links.Source ${source}, expected ${links.repository}`);
  }
  return problems;
}

export function checkVsix(file, links) {
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
  problems.push(...metadataProblems(manifest, vsixManifest, entries, links));
  return problems.map((p) => `${file} (${target}): ${p}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node test/package/vsix-check.mjs FILE.vsix...');
    process.exit(2);
  }
  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
  const links = repositoryLinksOrExit(root, 2);
  for (const file of files) {
    const problems = checkVsix(file, links);
    if (problems.length > 0) {
      console.error(problems.join('\n'));
      process.exit(1);
    }
    console.log(`${file}: ok`);
  }
}
