#!/usr/bin/env bash
# Cross-builds the helper with Zig for the targets these machines cannot run — macOS x64 and arm64
# (libsipc.dylib + sipc), Windows arm64 (sipc.dll + sipc.exe), Linux arm64 (libsipc.so + sipc) — with the native build's warnings as
# errors, then checks that each binary is of the right format and architecture.
# Zig comes from PyPI (`ziglang`, see zig.sh). Usage: bash test/cross/build.sh [PLATFORM...]
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/cross/zig.sh

platforms=("$@")
[ ${#platforms[@]} -gt 0 ] || platforms=(darwin-x64 darwin-arm64 win32-arm64 linux-arm64)
for platform in "${platforms[@]}"; do
  start=$SECONDS
  make -C helper cross PLATFORM="$platform" ZIG="$zig" -j2 >/dev/null
  case "$platform" in
    win32-*) binaries=(sipc.dll sipc.exe) ;;
    darwin-*) binaries=(libsipc.dylib sipc) ;;
    *) binaries=(libsipc.so sipc) ;;
  esac
  for binary in "${binaries[@]}"; do
    node test/cross/binary-format.mjs "helper/build/$platform/$binary" "$platform"
  done
  echo "cross $platform: ${binaries[*]} built and checked in $((SECONDS - start)) s"
done
