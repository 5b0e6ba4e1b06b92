#!/usr/bin/env bash
# npm run package:all — sipc-<target>-<version>.vsix for linux-x64, linux-arm64, win32-x64, win32-arm64,
# darwin-x64 and darwin-arm64, each with its own helper and koffi's package for its target, then opens every
# package and checks it (test/package/vsix-check.mjs). The helpers of other targets are cross-built with Zig
# (test/cross/build.sh); koffi's platform packages are installed without saving them.
set -euo pipefail
cd "$(dirname "$0")/../.."

make -C helper -j2 >/dev/null
bash test/cross/build.sh darwin-x64 darwin-arm64 win32-x64 win32-arm64 linux-arm64
koffi_version="$(node -p "require('./package.json').dependencies.koffi.replace(/^[\^~]/, '')")"
npm install --no-save --force --no-audit --no-fund \
  "@koromix/koffi-linux-arm64@$koffi_version" "@koromix/koffi-win32-x64@$koffi_version" \
  "@koromix/koffi-win32-arm64@$koffi_version" "@koromix/koffi-darwin-x64@$koffi_version" \
  "@koromix/koffi-darwin-arm64@$koffi_version" >/dev/null
node esbuild.mjs --package --target all
version="$(node -p "require('./package.json').version")"
node test/package/vsix-check.mjs sipc-{linux,win32,darwin}-{x64,arm64}-"$version".vsix
