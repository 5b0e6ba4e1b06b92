// SIPC_TEST_EMULATOR: the absolute path of a program that runs binaries of a CPU this kernel cannot execute
// itself (qemu-aarch64-static, when no binfmt_misc handler is registered; test/qemu/run.sh). The test programs a
// suite starts (a second Node, the sipc CLI) are then started through it. The C suite's harness reads the same
// variable (test/c/harness_posix.c). Unset: programs are executed directly.
const emulator = process.env.SIPC_TEST_EMULATOR || undefined;

/** The command and arguments that run `file` with `args`: through the emulator when one is set. */
export function command(file, args) {
  return emulator === undefined ? [file, args] : [emulator, [file, ...args]];
}

// SIPC_TEST_TIME_SCALE: how many times longer than on the host a test may wait for what processes do, where
// everything runs emulated (test/qemu/run.sh sets it: under qemu-user a child Node takes 3-20 s to start, and code
// runs 10-20 times slower). Unset or invalid: 1, so the bounds everywhere else stay as tight as they are.
const scale = Number(process.env.SIPC_TEST_TIME_SCALE);
export const timeScale = Number.isFinite(scale) && scale >= 1 ? scale : 1;

/** A bound of `ms` on the host, stretched by SIPC_TEST_TIME_SCALE under emulation. */
export function scaled(ms) {
  return Math.round(ms * timeScale);
}
