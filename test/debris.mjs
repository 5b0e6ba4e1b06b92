// Every test suite leaves /dev/shm as it found it. A suite names all its channels with one prefix unique to its
// process and run (runPrefix), and checkDebrisAtExit fails the process when a channel with that prefix is still
// there at exit (after every test and hook ran). Other programs on the machine create sipc channels at the same
// time, so the check looks only at this prefix, never at a before/after difference of the whole directory.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { command } from './emulator.mjs';

const SHM = '/dev/shm';

/** A channel-name prefix unique to this process and run: `${tag}-<pid>-<time>-`. */
export function runPrefix(tag) {
  return `${tag}-${process.pid}-${Date.now().toString(36)}-`;
}

/**
 * What is left of the channels whose names start with `prefix`: their names, as `sipc ls --json` reads them from
 * the segments (this finds long names too, whose object is named by a hash), plus /dev/shm objects whose key still
 * shows the prefix but that `ls` cannot read (half-made or damaged segments).
 * @returns {{ channels: string[], objects: string[] }}
 */
export function leftoversWithPrefix(sipc, prefix) {
  const listed = spawnSync(...command(sipc, ['ls', '--json']), { encoding: 'utf8', timeout: 30000 });
  if (listed.status !== 0) throw new Error(`sipc ls --json failed (${listed.status ?? listed.signal}): ${listed.stderr}`);
  const channels = listed.stdout.split('\n').filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line).name)
    .filter((name) => typeof name === 'string' && name.startsWith(prefix));
  const objects = existsSync(SHM)
    ? readdirSync(SHM).filter((file) => file.startsWith(`sipc.${prefix}`) && !channels.includes(file.slice(5)))
    : [];
  return { channels, objects };
}

/**
 * At process exit: if channels with `prefix` are left, print them, remove them (so a failing run still leaves the
 * machine clean) and set a failing exit code, which node:test reports as a failed test file.
 */
export function checkDebrisAtExit(sipc, prefix, suite) {
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
    for (const name of left.channels) spawnSync(...command(sipc, ['rm', '--force', name]), { timeout: 10000 });
    for (const file of left.objects) rmSync(`${SHM}/${file}`, { force: true });
    process.exitCode = 1;
  });
}
