# Sourced by the cross-build scripts: sets $zig to the official Zig from PyPI (`ziglang`), installed once into a
# git-ignored virtualenv (.zig-venv/; SIPC_ZIG_VENV overrides). Run from the repository's root.
venv="${SIPC_ZIG_VENV:-$PWD/.zig-venv}"
if ! "$venv/bin/python" -c 'import ziglang' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet ziglang
fi
zig="$venv/bin/python -m ziglang"
