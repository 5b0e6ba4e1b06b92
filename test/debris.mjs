// Every test suite leaves /dev/shm as it found it. A suite names all its channels with one prefix unique to its
// process and run (runPrefix), and checkDebrisAtExit fails the process when a channel with that prefix is still
// there at exit (after every test and hook ran). Other programs on the machine create sipc channels at the same
// time, so the check looks only at this prefix, never at a before/after difference of the whole directory.
// A run that was killed (a mutation-testing timeout, a CI job cancelled) cannot clean up: the next run of the same
// suite removes what runs of its tag whose process is gone left behind, and the peers a suite starts are told to end
// when it does (dieWithParent).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { command } from './emulator.mjs';

const SHM = '/dev/shm';
// A Windows process has no channels in /dev/shm, yet under wine '/dev/shm' is the Linux host's (drive Z:), where it
// cannot tell a live Linux pid from a gone one (process.kill(pid, 0) asks Windows): a wine run's sweep removed a
// live Linux test run's channel objects. Only a process of the system that keeps channels there looks at them.
const SHM_IS_OURS = process.platform !== 'win32';

/**
 * Removes one /dev/shm entry whatever it is (a directory or a FIFO that a hostile-entry test made counts too), and
 * says so instead of throwing when it cannot: one entry that cannot go must not fail every test file (under wine,
 * Node cannot even lstat a FIFO: EINVAL).
 */
function removeObject(file, suite) {
  try {
    rmSync(`${SHM}/${file}`, { force: true, recursive: true });
  } catch (error) {
    console.error(`${suite}: could not remove ${SHM}/${file}: ${error.message}`);
  }
}

/** A channel-name prefix unique to this process and run: `${tag}-<pid>-<time>-`. */
export function runPrefix(tag) {
  return `${tag}-${process.pid}-${Date.now().toString(36)}-`;
}

/**
 * What is left of the channels whose names start with `prefix`: their names, as `sipc ls --json` reads them from
 * the segments (this finds long names too, whose object is named by a hash), plus /dev/shm objects whose key still
 * shows the prefix but that `ls` cannot use (half-made or damaged segments, directories, FIFOs).
 * @returns {{ channels: string[], objects: string[] }}
 */
export function leftoversWithPrefix(sipc, prefix) {
  const listed = spawnSync(...command(sipc, ['ls', '--json']), { encoding: 'utf8', timeout: 30000 });
  if (listed.status !== 0) throw new Error(`sipc ls --json failed (${listed.status ?? listed.signal}): ${listed.stderr}`);
  // An entry `ls` cannot use (a directory, a FIFO, a damaged segment) is listed with its error: it is an object to
  // remove as a file, not a channel for `sipc rm`.
  const channels = listed.stdout.split('\n').filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line))
    .filter((entry) => entry.error === undefined)
    .map((entry) => entry.name)
    .filter((name) => typeof name === 'string' && name.startsWith(prefix));
  const objects = SHM_IS_OURS && existsSync(SHM)
    ? readdirSync(SHM).filter((file) => file.startsWith(`sipc.${prefix}`) && !channels.includes(file.slice(5)))
    : [];
  return { channels, objects };
}

/** The tag and pid of a runPrefix() prefix (or of a name that starts with one), or undefined. */
function parsePrefix(text) {
  const match = /^(.+)-(\d+)-[0-9a-z]+-/.exec(text);
  return match ? { tag: match[1], pid: Number(match[2]) } : undefined;
}

/** Whether a process with this pid exists (a pid taken again by another process counts as alive: nothing is removed). */
function processExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Removes the channels (and unreadable /dev/shm objects) of earlier runs of the suite with `tag` whose process is
 * gone: a killed run leaves its channels, since neither its cleanup nor its exit check ran. Says what it removed.
 */
export function sweepKilledRuns(sipc, tag, suite) {
  const ours = (name) => {
    const parsed = parsePrefix(name);
    return parsed !== undefined && parsed.tag === tag && parsed.pid !== process.pid && !processExists(parsed.pid);
  };
  let left;
  try {
    left = leftoversWithPrefix(sipc, `${tag}-`);
  } catch (error) {
    console.error(`${suite}: could not look for what killed runs left: ${error.message}`);
    return;
  }
  const channels = left.channels.filter(ours);
  const objects = left.objects.filter((file) => ours(file.slice(5)));
  if (channels.length + objects.length === 0) return;
  console.error(`${suite}: removing what killed earlier runs left behind: ${[...channels, ...objects.map((file) => `${SHM}/${file}`)].join(', ')}`);
  for (const name of channels) spawnSync(...command(sipc, ['rm', '--force', '--', name]), { timeout: 10000 });
  for (const file of objects) removeObject(file, suite);
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => process.platform === 'linux' && existsSync(path));

/**
 * A command (as command() gives it) that ends with SIGTERM when this process ends, however it ends: a peer left
 * running by a killed test process would keep its channel alive for good (Linux: setpriv --pdeathsig; elsewhere the
 * command as it is). The program keeps its pid (setpriv executes it in place).
 */
export function dieWithParent([file, args]) {
  return SETPRIV === undefined ? [file, args] : [SETPRIV, ['--pdeathsig', 'TERM', '--', file, ...args]];
}

/**
 * First removes what killed runs of the same suite left (sweepKilledRuns). Then, at process exit: if channels with `prefix` are left, print them, remove them (so a failing run still leaves the
 * machine clean) and set a failing exit code, which node:test reports as a failed test file.
 */
export function checkDebrisAtExit(sipc, prefix, suite) {
  const own = parsePrefix(prefix);
  if (own !== undefined) sweepKilledRuns(sipc, own.tag, suite);
  process.on('exit', () => {
    let left;
    try {
      left = leftoversWithPrefix(sipc, prefix);
    } catch (error) {
      console.error(`${suite}: could not check for leftover channels: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    const all = [...left.channels, ...left.objects.map((file) => `${SHM}/${file}`)];
    if (all.length === 0) return;
    console.error(`${suite}: left ${all.length} sipc channel(s) behind (removed now): ${all.join(', ')}`);
    for (const name of left.channels) spawnSync(...command(sipc, ['rm', '--force', '--', name]), { timeout: 10000 });
    for (const file of left.objects) removeObject(file, suite);
    process.exitCode = 1;
  });
}
