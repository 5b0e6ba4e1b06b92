// The links from a packaged extension to the project's public repository: `repository`, `homepage` and `bugs` of the
// packaged manifest (the Marketplace and Open VSX show them). package.json itself carries none: the project's public
// URL is not known to its sources, and an invented one would be a placeholder. Packaging (esbuild.mjs --package,
// npm run package:all) takes them from the environment, else from the git remote:
//   SIPC_REPOSITORY_URL   https URL of the public repository (an error if set to anything else)
//   SIPC_HOMEPAGE_URL     optional; default: the repository (GitHub: its README, <url>#readme)
//   SIPC_BUGS_URL         optional; default on GitHub: <url>/issues; elsewhere none
//   `git remote get-url origin`, when SIPC_REPOSITORY_URL is unset and the remote is an https URL (credentials in it
//   are dropped; an ssh or local remote gives no links).
// Without a repository the VSIX is packaged with vsce's allowMissingRepository and one line says it has no link.
import { execFileSync } from 'node:child_process';

/** Thrown when SIPC_REPOSITORY_URL (or _HOMEPAGE_/_BUGS_URL) is set to something that is no public https URL. */
export class RepositoryUrlError extends Error {
  constructor(message) {
    super(message);
    this.name = 'RepositoryUrlError';
    this.code = 'SIPC_REPOSITORY_URL_INVALID';
  }
}

/**
 * `text` as a public https URL: no query or fragment, no trailing "/" or ".git", credentials dropped; `undefined`
 * if it is none (another scheme, an ssh remote such as git@host:path, a local path, a host without a path).
 * @param {string} text
 * @returns {{ url: string, hadCredentials: boolean } | undefined}
 */
export function publicHttpsUrl(text) {
  let url;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.hostname === '' || url.search !== '' || url.hash !== '') return undefined;
  const hadCredentials = url.username !== '' || url.password !== '';
  const path = url.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
  if (path === '' || path === '/') return undefined;
  if (url.hostname === 'github.com' && !/^\/[^/]+\/[^/]+$/.test(path)) return undefined; // github.com/<owner>/<repo>
  return { url: `https://${url.host}${path}`, hadCredentials };
}

/** `git remote get-url origin` in `cwd`, or undefined (no git, no repository, no such remote). */
export function gitOriginUrl(cwd) {
  try {
    return execFileSync('git', ['remote', 'get-url', 'origin'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** A homepage or bugs page: any https URL (a path, a fragment); credentials are refused by the caller. */
function publicHttpsPage(text) {
  let url;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.hostname === '') return undefined;
  return { url: url.href, hadCredentials: url.username !== '' || url.password !== '' };
}

function explicitUrl(env, name, parse = publicHttpsUrl) {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const parsed = parse(value);
  // The value is not repeated: a URL with credentials in it holds a secret.
  if (parsed === undefined || parsed.hadCredentials) throw new RepositoryUrlError(`${name} must be a public https URL without credentials (https://host/path)`);
  return parsed.url;
}

/**
 * The links to package, or why there are none.
 * @param {{ env?: Record<string, string | undefined>, gitRemote?: () => string | undefined }} [from]
 * @returns {{ repository: string, homepage: string, bugs: string | undefined, source: string } | { missing: string }}
 */
export function repositoryLinks({ env = process.env, gitRemote = () => gitOriginUrl(process.cwd()) } = {}) {
  let repository = explicitUrl(env, 'SIPC_REPOSITORY_URL');
  let source = 'SIPC_REPOSITORY_URL';
  if (repository === undefined) {
    const remote = gitRemote();
    repository = remote === undefined ? undefined : publicHttpsUrl(remote)?.url;
    source = 'git remote origin';
    if (repository === undefined) {
      return { missing: remote === undefined ? 'SIPC_REPOSITORY_URL is not set and there is no git remote "origin"' : 'SIPC_REPOSITORY_URL is not set and git remote "origin" is not an https URL' };
    }
  }
  const onGitHub = new URL(repository).hostname === 'github.com';
  const homepage = explicitUrl(env, 'SIPC_HOMEPAGE_URL', publicHttpsPage) ?? (onGitHub ? `${repository}#readme` : repository);
  const bugs = explicitUrl(env, 'SIPC_BUGS_URL', publicHttpsPage) ?? (onGitHub ? `${repository}/issues` : undefined);
  return { repository, homepage, bugs, source };
}

/**
 * repositoryLinks() of the checkout at `root` for a command-line script: an invalid URL in the environment ends the
 * process with `exitCode` and the error's message (which never repeats the value).
 */
export function repositoryLinksOrExit(root, exitCode) {
  try {
    return repositoryLinks({ gitRemote: () => gitOriginUrl(root) });
  } catch (error) {
    if (!(error instanceof RepositoryUrlError)) throw error;
    console.error(`error: ${error.message}`);
    process.exit(exitCode);
  }
}

/** The one line packaging prints when the VSIX gets no links. */
export function missingLinksLine(links) {
  return `note: the VSIX has no repository, homepage or bugs link (${links.missing}; set SIPC_REPOSITORY_URL=https://...)`;
}

/**
 * The manifest a VSIX ships: package.json without what only development needs (scripts, devDependencies), with the
 * links when there are some.
 * @param {Record<string, unknown>} manifest package.json
 * @param {ReturnType<typeof repositoryLinks>} links
 */
export function packagedManifest(manifest, links) {
  const { scripts: _scripts, devDependencies: _devDependencies, repository: _r, homepage: _h, bugs: _b, ...shipped } = manifest;
  if ('missing' in links) return shipped;
  return {
    ...shipped,
    repository: { type: 'git', url: links.repository },
    homepage: links.homepage,
    ...(links.bugs === undefined ? {} : { bugs: { url: links.bugs } }),
  };
}
