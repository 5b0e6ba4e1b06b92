// `npm start` as a user lives with it (issue #14, item 1): notifications show (no smoke-test driver), the demo peer is
// supervised (kill -9 restarts it and never stops the server), and Ctrl-C closes this window's channels cleanly (the
// extension host deactivates the extension: the peer sees the client slot released, not a dead client).
// Runs test/vscode/harness/start.mjs with --no-build (the harness packaged the extension already), its own profile,
// port and channel names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser } from '../harness/browser.mjs';
import { cacheRoot, repoRoot } from '../harness/cache.mjs';
import { freePort } from '../harness/processes.mjs';
import { poll, runCommand, screenshot } from '../harness/workbench.mjs';

const cli = process.env.SIPC_CLI || join(repoRoot, `helper/build/${process.platform}-${process.arch}/sipc`);

/** A process whose stdout is kept as text, started in a group of its own so that everything it started can be ended. */
function startProcess(command, args) {
  const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => output };
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // Gone already.
  }
}

function stat(name) {
  const result = spawnSync(cli, ['stat', name, '--json'], { encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 ? JSON.parse(result.stdout) : undefined;
}

test('npm start: notifications show, the demo peer is supervised, and stopping closes the window\'s channels cleanly', { timeout: 300_000 }, async (t) => {
  assert.ok(existsSync(cli), `the sipc CLI is not built at ${cli} (make -C helper)`);
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const demo = `start-demo-${tag}`;
  const joined = `start-joined-${tag}`;
  const profile = mkdtempSync(join(cacheRoot, 'start-test-'));
  t.after(() => rmSync(profile, { recursive: true, force: true }));

  // A server of our own, so that after the stop the client slot shows how this window left.
  const server = startProcess(cli, ['recv', joined]);
  t.after(async () => {
    killGroup(server.child.pid, 'SIGTERM');
    await server.exited;
  });

  const port = await freePort();
  const start = startProcess(process.execPath, [join(repoRoot, 'test/vscode/harness/start.mjs'), '--no-build',
    '--port', String(port), '--channel', demo, '--profile', profile, '--folder', profile]);
  t.after(async () => {
    killGroup(start.child.pid, 'SIGKILL');
    await start.exited;
  });
  const url = await poll(() => start.output().match(/^\s+(http:\/\/127\.0\.0\.1:\d+\/\S*)$/m)?.[1],
    { what: `npm start to print its URL (output: ${start.output()})`, timeoutMs: 180_000, intervalMs: 500 });
  const echoPid = () => [...start.output().matchAll(/`sipc echo [^`]+` \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  await poll(() => echoPid().length === 1, { what: 'the echo peer to start' });

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });

  // Notifications are toasts again: Connect's confirmation pops up.
  await runCommand(page, 'SIPC: Connect to Channel…');
  const picker = page.locator('.quick-input-widget');
  await picker.locator('input').first().fill(joined);
  await picker.locator('.quick-input-list .monaco-list-row', { hasText: joined }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.notifications-toasts .notification-toast', { hasText: `connected to "${joined}"` }).waitFor({ timeout: 30_000 })
    .catch(async (error) => {
      throw new Error(`${error.message} (screenshot: ${await screenshot(page, `failed-start-toast-${process.pid}`)})`);
    });
  await poll(() => stat(joined)?.clientAlive === true, { what: 'this window to be the client of the test server' });

  // kill -9 of the demo peer: it is started again, and the server goes on.
  const [firstEcho] = echoPid();
  process.kill(firstEcho, 'SIGKILL');
  await poll(() => echoPid().length === 2, { what: `the echo peer to be started again (output: ${start.output()})`, timeoutMs: 15_000 });
  assert.match(start.output(), /the echo peer exited \(code null, signal SIGKILL\); starting it again/);
  assert.equal((await fetch(`http://127.0.0.1:${port}/version`)).ok, true, 'the VS Code server still answers');
  assert.equal(start.child.exitCode, null, 'npm start still runs');
  await poll(() => stat(demo)?.serverAlive === true, { what: 'the restarted echo peer to serve the demo channel' });

  // Ctrl-C: the extension host deactivates the extension, which closes this window's end cleanly.
  const { clientPid } = stat(joined);
  process.kill(start.child.pid, 'SIGINT');
  const stopped = await start.exited;
  assert.deepEqual(stopped, { code: 130, signal: null }, `npm start ends as interrupted (output: ${start.output()})`);
  const after = stat(joined);
  assert.ok(after, 'the test server still has its channel');
  assert.equal(after.clientPid, 0, `this window released its client slot (pid ${clientPid}) instead of dying in it`);
  assert.equal(stat(demo), undefined, 'the demo channel is gone with its peer');
});
