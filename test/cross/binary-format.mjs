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

/**
 * What a binary still carries for debuggers, beyond what loading it needs: [] for a stripped one. ELF: debug sections
 * and the static symbol table (.symtab; .dynsym stays); PE: debug sections and the COFF symbol table; 64-bit Mach-O:
 * a __DWARF segment, the debug map (STABS entries naming the build's object files) and local symbols.
 * @param {Buffer} bytes @returns {string[]}
 */
export function debugInfo(bytes) {
  const { format } = binaryFormat(bytes);
  const found = new Set();
  if (format === 'elf') {
    if (bytes[4] !== 2 || bytes[5] !== 1) return ['not a 64-bit little-endian ELF: not examined'];
    const shoff = Number(bytes.readBigUInt64LE(0x28));
    const shentsize = bytes.readUInt16LE(0x3a);
    const shnum = bytes.readUInt16LE(0x3c);
    const shstrndx = bytes.readUInt16LE(0x3e);
    const header = (i) => shoff + i * shentsize;
    const namesAt = Number(bytes.readBigUInt64LE(header(shstrndx) + 0x18));
    for (let i = 0; i < shnum; i++) {
      const name = bytes.toString('latin1', namesAt + bytes.readUInt32LE(header(i)), bytes.indexOf(0, namesAt + bytes.readUInt32LE(header(i))));
      if (/^\.z?debug/.test(name)) found.add(`section ${name}`);
      if (bytes.readUInt32LE(header(i) + 4) === 2 /* SHT_SYMTAB */) found.add('static symbol table (.symtab)');
    }
  } else if (format === 'pe') {
    const pe = bytes.readUInt32LE(0x3c);
    const sections = bytes.readUInt16LE(pe + 6);
    if (bytes.readUInt32LE(pe + 16) > 0) found.add('COFF symbol table');
    const table = pe + 24 + bytes.readUInt16LE(pe + 20);
    for (let i = 0; i < sections; i++) {
      const name = bytes.toString('latin1', table + 40 * i, table + 40 * i + 8).replace(/\0+$/, '');
      // Long names (/<offset> into the COFF string table) are what MinGW gives .debug_* sections.
      if (/^\.debug|^\//.test(name)) found.add(`section ${name}`);
    }
  } else if (format === 'macho') {
    const commands = bytes.readUInt32LE(16);
    let at = 32;
    for (let i = 0; i < commands; i++) {
      const command = bytes.readUInt32LE(at);
      if (command === 0x19 /* LC_SEGMENT_64 */ && bytes.toString('latin1', at + 8, at + 24).replace(/\0+$/, '') === '__DWARF') {
        found.add('__DWARF segment');
      }
      if (command === 0x2 /* LC_SYMTAB */) {
        const symoff = bytes.readUInt32LE(at + 8);
        const nsyms = bytes.readUInt32LE(at + 12);
        for (let s = 0; s < nsyms; s++) {
          const type = bytes[symoff + 16 * s + 4];
          if (type & 0xe0) found.add('debug map (STABS)');
          else if (!(type & 0x01) && (type & 0x0e) === 0x0e) found.add('local symbols');
        }
      }
      at += bytes.readUInt32LE(at + 4);
    }
  } else {
    return ['unknown format: not examined'];
  }
  return [...found];
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
