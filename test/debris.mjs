// Every test suite leaves /dev/shm as it found it. A suite names all its channels with one prefix unique to its
// process and run (runPrefix), and checkDebrisAtExit fails the process when a channel with that prefix is still
// there at exit (after every test and hook ran). Other programs on the machine create sipc channels at the same
// time, so the check looks only at this prefix, never at a before/after difference of the whole directory.
// A run that was killed (a mutation-testing timeout, a CI job cancelled) cannot clean up: the next run of the same
// suite removes what runs of its tag whose process is gone left behind, and the peers a suite starts are told to end
// when it does (dieWithParent).
// Temporary files and folders follow the same rule: every test process makes them under one parent folder of its own
// (testTempDir: `<tmpdir>/sipc-test-<pid>-XXXXXX/`, with an `owner` file naming the process), removed when the process
// exits; a killed process cannot remove it, so every test process, before making its own and again at its end,
// removes the parents whose owner is gone (sweepDeadTempParents).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/**
 * Whether a process with this pid runs (a pid taken again by another process counts as running: nothing is removed).
 * A killed process its parent has not reaped yet (a zombie, Linux) does not: it will never clean up.
 */
function processExists(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error.code === 'EPERM';
  }
  return processStat(pid)?.state !== 'Z';
}

/**
 * Linux: a process's state letter and start time (fields 3 and 22 of /proc/<pid>/stat; the start time in clock ticks
 * since boot, which a reused pid does not share); undefined elsewhere or when there is no such process.
 */
function processStat(pid) {
  // Under wine a Windows process reads the Linux host's /proc (drive Z:), where its pid names another process.
  if (process.platform !== 'linux') return undefined;
  try {
    // The main thread's entry, not /proc/<pid>/stat: under qemu-user a process reading its own /proc/<pid>/stat gets
    // one the emulator makes up, whose start time differs from the kernel's by a tick, so two emulated test processes
    // running side by side each took the other's folder for a reused pid's and swept it (the arm64 run of CI).
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], startTime: fields[19] };
  } catch {
    return undefined;
  }
}

const TEMP_PARENT = /^sipc-test-(\d+)-/;
const OWNER_FILE = 'owner';
let ownTempParent;

/**
 * Whether the process that made a temporary parent folder is still running: its `owner` file holds its pid and (on
 * Linux) its start time, so a pid taken again by another process does not keep the folder. A folder whose owner file
 * is not written yet (its process is between mkdtemp and the write) is judged by the pid in its name.
 */
function tempParentOwnerAlive(folder, pidInName) {
  let owner;
  try {
    owner = readFileSync(join(folder, OWNER_FILE), 'utf8').trim().split(' ');
  } catch {
    return processExists(pidInName);
  }
  const pid = Number(owner[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return processExists(pidInName);
  if (!processExists(pid)) return false;
  const started = owner[1] ? processStat(pid)?.startTime : undefined;
  return started === undefined || started === owner[1];
}

/**
 * Removes the temporary parent folders (testTempDir) of test processes that are gone: a process killed before its
 * exit (a mutation-testing bail, a timeout, a cancelled CI job) leaves its folder. Says which it removed, and
 * returns their names.
 */
export function sweepDeadTempParents(suite, root = tmpdir()) {
  let entries;
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  const removed = [];
  for (const entry of entries) {
    const match = TEMP_PARENT.exec(entry);
    const folder = join(root, entry);
    if (!match || folder === ownTempParent || tempParentOwnerAlive(folder, Number(match[1]))) continue;
    try {
      rmSync(folder, { recursive: true, force: true });
      removed.push(entry);
    } catch (error) {
      // Another test process sweeping at the same time, or a file that cannot go: the next sweep tries again.
      if (error.code !== 'ENOENT') console.error(`${suite}: could not remove ${folder}: ${error.message}`);
    }
  }
  if (removed.length > 0) {
    console.error(`${suite}: removed ${removed.length} temporary folder(s) of test processes that were killed: ${removed.slice(0, 5).join(', ')}${removed.length > 5 ? ', ...' : ''}`);
  }
  return removed;
}

/**
 * This test process's parent folder for temporary files (made on first use, after sweeping what killed processes
 * left; removed with everything in it when the process exits, whatever its tests left there).
 */
export function testTempParent() {
  if (ownTempParent !== undefined) return ownTempParent;
  const suite = `test process ${process.pid}`;
  sweepDeadTempParents(suite);
  const parent = mkdtempSync(join(tmpdir(), `sipc-test-${process.pid}-`));
  writeFileSync(join(parent, OWNER_FILE), `${process.pid} ${processStat(process.pid)?.startTime ?? ''}\n`);
  ownTempParent = parent;
  process.on('exit', () => {
    try {
      rmSync(parent, { recursive: true, force: true });
    } catch (error) {
      console.error(`${suite}: could not remove its temporary folder ${parent}: ${error.message}`);
    }
  });
  return parent;
}

/** A new folder for a test's temporary files, `<testTempParent()>/<label>-XXXXXX` (what killed runs leave is swept). */
export function testTempDir(label) {
  return mkdtempSync(join(testTempParent(), `${label}-`));
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
 * First removes what killed runs of the same suite left (sweepKilledRuns), and the temporary folders of killed test
 * processes (sweepDeadTempParents, again at exit). Then, at process exit: if channels with `prefix` are left, print them, remove them (so a failing run still leaves the
 * machine clean) and set a failing exit code, which node:test reports as a failed test file.
 */
export function checkDebrisAtExit(sipc, prefix, suite) {
  const own = parsePrefix(prefix);
  if (own !== undefined) sweepKilledRuns(sipc, own.tag, suite);
  sweepDeadTempParents(suite);
  process.on('exit', () => {
    sweepDeadTempParents(suite);
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
