#!/bin/sh
# Runs the 2003 article's demo with the C++ wrapper: Process1 and Process2 on a fresh channel, in the
# article's order (Process1 first), and checks what each printed. $1: folder of the built examples.
set -eu
bin=$1
name="tcpp-demo-$$"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin/process1" "$name" >"$out/1" 2>&1 &
p1=$!
"$bin/process2" "$name" >"$out/2" 2>&1 || { cat "$out/2"; exit 1; }
wait "$p1" || { cat "$out/1"; exit 1; }
cat "$out/1" "$out/2"
grep -qx 'process1 got: Hello to you too, process1' "$out/1"
grep -qx 'process2 got: Hello other process..' "$out/2"
# Both left: the channel is gone (sipc stat exits 12, NOT_FOUND).
set +e
"$bin/../sipc" stat "$name" >/dev/null 2>&1
[ $? -eq 12 ] || { echo "channel $name left behind"; exit 1; }
