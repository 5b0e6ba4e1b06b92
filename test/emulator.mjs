// SIPC_TEST_EMULATOR: the absolute path of a program that runs binaries of a CPU this kernel cannot execute
// itself (qemu-aarch64-static, when no binfmt_misc handler is registered; test/qemu/run.sh). The test programs a
// suite starts (a second Node, the sipc CLI) are then started through it. The C suite's harness reads the same
// variable (test/c/harness_posix.c). Unset: programs are executed directly.
const emulator = process.env.SIPC_TEST_EMULATOR || undefined;

/** The command and arguments that run `file` with `args`: through the emulator when one is set. */
export function command(file, args) {
  return emulator === undefined ? [file, args] : [emulator, [file, ...args]];
}
