// Tells a binary's file format and CPU from its header (ELF, PE, 64-bit Mach-O), and what a VS Code
// target's binaries must be. Used by test/cross/build.sh (as a program: FILE PLATFORM, exit 1 on a
// mismatch) and by the per-target package test.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const elfMachines = new Map([[62, 'x64'], [183, 'arm64']]);
const peMachines = new Map([[0x8664, 'x64'], [0xaa64, 'arm64']]);
const machoCpus = new Map([[0x01000007, 'x64'], [0x0100000c, 'arm64']]);

/** @param {Buffer} bytes @returns {{ format: 'elf' | 'pe' | 'macho' | 'unknown', arch: string }} */
export function binaryFormat(bytes) {
  if (bytes.length >= 20 && bytes.readUInt32BE(0) === 0x7f454c46) {
    const machine = bytes[5] === 2 ? bytes.readUInt16BE(18) : bytes.readUInt16LE(18);
    return { format: 'elf', arch: elfMachines.get(machine) ?? `machine ${machine}` };
  }
  if (bytes.length >= 64 && bytes.toString('latin1', 0, 2) === 'MZ') {
    const pe = bytes.readUInt32LE(0x3c);
    if (pe + 6 <= bytes.length && bytes.toString('latin1', pe, pe + 4) === 'PE\0\0') {
      const machine = bytes.readUInt16LE(pe + 4);
      return { format: 'pe', arch: peMachines.get(machine) ?? `machine 0x${machine.toString(16)}` };
    }
  }
  if (bytes.length >= 8 && bytes.readUInt32LE(0) === 0xfeedfacf) {
    const cpu = bytes.readUInt32LE(4);
    return { format: 'macho', arch: machoCpus.get(cpu) ?? `cpu 0x${cpu.toString(16)}` };
  }
  return { format: 'unknown', arch: 'unknown' };
}

/** The format and CPU of a VS Code target's binaries: linux-x64 → elf/x64, darwin-arm64 → macho/arm64, ... */
export function expectedFormat(target) {
  const [os, arch] = target.split('-');
  const format = { linux: 'elf', win32: 'pe', darwin: 'macho' }[os];
  if (format === undefined || !['x64', 'arm64'].includes(arch)) throw new Error(`unknown target ${target}`);
  return { format, arch };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, target] = process.argv.slice(2);
  const got = binaryFormat(readFileSync(file));
  const want = expectedFormat(target);
  if (got.format !== want.format || got.arch !== want.arch) {
    console.error(`${file}: ${got.format}/${got.arch}, expected ${want.format}/${want.arch} for ${target}`);
    process.exit(1);
  }
}
