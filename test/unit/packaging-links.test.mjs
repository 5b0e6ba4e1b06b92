// The packaged manifest's links to the public repository (test/package/repository-links.mjs): taken from
// SIPC_REPOSITORY_URL or an https git remote, written into the packaged manifest only, never invented; without one
// the VSIX is packaged all the same (vsce's allowMissingRepository) and carries no link. The last tests pack small
// extensions with vsce as esbuild.mjs does and read them back with the checks npm run package:all applies
// (test/package/vsix-check.mjs), with and without a repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingLinksLine, packagedManifest, publicHttpsUrl, repositoryLinks, RepositoryUrlError } from '../package/repository-links.mjs';
import { metadataProblems, readZip } from '../package/vsix-check.mjs';
import { testTempDir } from '../debris.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const projectManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const noRemote = () => undefined;

test('an https URL is used without credentials, query, fragment, trailing slash or .git; anything else is none', () => {
  assert.deepEqual(publicHttpsUrl('https://github.com/owner/repo.git'), { url: 'https://github.com/owner/repo', hadCredentials: false });
  assert.deepEqual(publicHttpsUrl(' https://x-access-token:secret@github.com/owner/repo/ \n'), { url: 'https://github.com/owner/repo', hadCredentials: true });
  assert.deepEqual(publicHttpsUrl('https://git.example.org:8443/group/sub/repo'), { url: 'https://git.example.org:8443/group/sub/repo', hadCredentials: false });
  for (const none of ['git@github.com:owner/repo.git', 'ssh://git@github.com/owner/repo', 'http://github.com/owner/repo',
    'file:///work/main', '/work/main', 'https://github.com/', 'https://github.com/owner', 'https://github.com/owner/repo/tree/main',
    'https://github.com/owner/repo?x=1', 'https://github.com/owner/repo#readme', '']) {
    assert.equal(publicHttpsUrl(none), undefined, none);
  }
});

test('SIPC_REPOSITORY_URL comes first; on GitHub homepage and bugs follow from it, elsewhere only the homepage', () => {
  assert.deepEqual(repositoryLinks({ env: { SIPC_REPOSITORY_URL: 'https://github.com/owner/repo.git' }, gitRemote: () => 'https://github.com/other/fork' }),
    { repository: 'https://github.com/owner/repo', homepage: 'https://github.com/owner/repo#readme', bugs: 'https://github.com/owner/repo/issues', source: 'SIPC_REPOSITORY_URL' });
  assert.deepEqual(repositoryLinks({ env: { SIPC_REPOSITORY_URL: 'https://git.example.org/sipc' }, gitRemote: noRemote }),
    { repository: 'https://git.example.org/sipc', homepage: 'https://git.example.org/sipc', bugs: undefined, source: 'SIPC_REPOSITORY_URL' });
  assert.deepEqual(repositoryLinks({ env: { SIPC_REPOSITORY_URL: 'https://git.example.org/sipc', SIPC_HOMEPAGE_URL: 'https://sipc.example.org',
    SIPC_BUGS_URL: 'https://git.example.org/sipc/-/issues' }, gitRemote: noRemote }),
  { repository: 'https://git.example.org/sipc', homepage: 'https://sipc.example.org/', bugs: 'https://git.example.org/sipc/-/issues', source: 'SIPC_REPOSITORY_URL' });
});

test('a SIPC_*_URL that is no public https URL is an error that does not repeat the value', () => {
  for (const [name, value] of [['SIPC_REPOSITORY_URL', 'http://github.com/owner/repo'], ['SIPC_REPOSITORY_URL', 'git@github.com:owner/repo.git'],
    ['SIPC_REPOSITORY_URL', 'https://user:hunter2@github.com/owner/repo'], ['SIPC_BUGS_URL', 'https://token:hunter2@example.org/issues']]) {
    const env = { SIPC_REPOSITORY_URL: 'https://github.com/owner/repo', [name]: value };
    assert.throws(() => repositoryLinks({ env, gitRemote: noRemote }), (error) => {
      assert.ok(error instanceof RepositoryUrlError);
      assert.equal(error.code, 'SIPC_REPOSITORY_URL_INVALID');
      assert.match(error.message, new RegExp(name));
      assert.doesNotMatch(error.message, /hunter2|git@/);
      return true;
    });
  }
});

test('without SIPC_REPOSITORY_URL an https git remote is used (its credentials dropped); an ssh or local remote, or none, gives no links', () => {
  assert.deepEqual(repositoryLinks({ env: {}, gitRemote: () => 'https://ci:secret@github.com/owner/repo.git' }),
    { repository: 'https://github.com/owner/repo', homepage: 'https://github.com/owner/repo#readme', bugs: 'https://github.com/owner/repo/issues', source: 'git remote origin' });
  const ssh = repositoryLinks({ env: { SIPC_REPOSITORY_URL: '' }, gitRemote: () => 'git@github.com:owner/repo.git' });
  assert.deepEqual(ssh, { missing: 'SIPC_REPOSITORY_URL is not set and git remote "origin" is not an https URL' });
  const none = repositoryLinks({ env: {}, gitRemote: noRemote });
  assert.deepEqual(none, { missing: 'SIPC_REPOSITORY_URL is not set and there is no git remote "origin"' });
  assert.equal(missingLinksLine(none).split('\n').length, 1);
  assert.match(missingLinksLine(none), /^note: the VSIX has no repository, homepage or bugs link \(.*SIPC_REPOSITORY_URL=https/);
});

test('package.json names no repository: the links exist only in the packaged manifest, which drops what only development needs', () => {
  for (const field of ['repository', 'homepage', 'bugs']) assert.equal(projectManifest[field], undefined, field);
  const links = repositoryLinks({ env: { SIPC_REPOSITORY_URL: 'https://github.com/owner/repo' }, gitRemote: noRemote });
  const shipped = packagedManifest(projectManifest, links);
  assert.deepEqual(shipped.repository, { type: 'git', url: 'https://github.com/owner/repo' });
  assert.equal(shipped.homepage, 'https://github.com/owner/repo#readme');
  assert.deepEqual(shipped.bugs, { url: 'https://github.com/owner/repo/issues' });
  assert.equal(shipped.scripts, undefined);
  assert.equal(shipped.devDependencies, undefined);
  assert.deepEqual(shipped.contributes, projectManifest.contributes);
  const bare = packagedManifest(projectManifest, { missing: 'none' });
  for (const field of ['repository', 'homepage', 'bugs', 'scripts', 'devDependencies']) assert.equal(bare[field], undefined, field);
  assert.equal(packagedManifest(projectManifest, repositoryLinks({ env: { SIPC_REPOSITORY_URL: 'https://git.example.org/sipc' }, gitRemote: noRemote })).bugs, undefined);
});

/** Packs a small extension with the project's manifest and metadata files as esbuild.mjs does; its VSIX's path. */
async function packSmallExtension(dir, links) {
  const stage = join(dir, 'stage');
  mkdirSync(join(stage, 'dist'), { recursive: true });
  mkdirSync(join(stage, 'extension/media'), { recursive: true });
  writeFileSync(join(stage, 'dist/extension.js'), 'exports.activate = () => {};\n');
  cpSync(join(root, projectManifest.icon), join(stage, projectManifest.icon));
  for (const file of ['LICENSE', 'CHANGELOG.md']) cpSync(join(root, file), join(stage, file));
  writeFileSync(join(stage, 'README.md'), '# sipc\n\nA test package.\n');
  const { dependencies: _dependencies, ...manifest } = projectManifest; // nothing to install here
  writeFileSync(join(stage, 'package.json'), JSON.stringify(packagedManifest(manifest, links), null, 2));
  const vsce = await import('@vscode/vsce');
  const packagePath = join(dir, 'small.vsix');
  await vsce.createVSIX({ cwd: stage, packagePath, target: 'linux-x64', allowMissingRepository: 'missing' in links, rewriteRelativeLinks: false, dependencies: false });
  return packagePath;
}

function problemsOf(packagePath, links) {
  const entries = readZip(packagePath);
  const manifest = JSON.parse(entries.get('extension/package.json').toString());
  return metadataProblems(manifest, entries.get('extension.vsixmanifest').toString(), entries, links);
}

test('a VSIX packed with a repository carries its links, one packed without carries none, and the check tells them apart', async () => {
  const dir = testTempDir('links');
  try {
    const links = repositoryLinks({ env: { SIPC_REPOSITORY_URL: 'https://github.com/owner/repo' }, gitRemote: noRemote });
    const linked = await packSmallExtension(join(dir, 'linked'), links);
    assert.deepEqual(problemsOf(linked, links), []);
    assert.match(readZip(linked).get('extension.vsixmanifest').toString(), /Links\.Support" Value="https:\/\/github\.com\/owner\/repo\/issues"/);

    const missing = { missing: 'none for this test' };
    const bare = await packSmallExtension(join(dir, 'bare'), missing);
    assert.deepEqual(problemsOf(bare, missing), []);
    assert.doesNotMatch(readZip(bare).get('extension.vsixmanifest').toString(), /Links\.Source/);

    // Each read with the other's expectation fails on every link.
    assert.equal(problemsOf(linked, missing).length, 4);
    assert.equal(problemsOf(bare, links).length, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the check finds missing marketplace metadata', () => {
  const entries = new Map([['extension/icon.png', Buffer.alloc(10)], ['extension/changelog.md', Buffer.from('x')]]);
  const vsixManifest = '<Identity Publisher="someone"/><Asset Type="Microsoft.VisualStudio.Services.Content.Changelog" Path="extension/changelog.md" />';
  const problems = metadataProblems({ publisher: 'sipc', icon: 'icon.png', categories: [] }, vsixManifest, entries, { missing: 'x' });
  assert.deepEqual(problems, ['publisher sipc missing', 'no categories', 'icon icon.png is not a PNG of at least 128x128',
    'no galleryBanner color and theme', 'no licence']);
});
