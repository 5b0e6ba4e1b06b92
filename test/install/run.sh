#!/bin/sh
# `make install` into a temporary prefix, then the C and C++ examples built against that copy, once with
# pkg-config and once with CMake (find_package(sipc) -> sipc::sipc), shared and static, and run in pairs.
# Needs Debian pkg-config and cmake. Run from helper/ (make test-install).
set -eu
helper=$(pwd)
examples="$helper/examples"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
run=$$

echo "== make install PREFIX=$prefix"
make -s install PREFIX="$prefix" >/dev/null
for f in include/sipc.h include/sipc_async.h include/sipc.hpp lib/libsipc.a lib/libsipc.so.1.0.0 bin/sipc \
         lib/pkgconfig/sipc.pc lib/cmake/sipc/sipcConfig.cmake lib/cmake/sipc/sipcConfigVersion.cmake; do
  [ -f "$prefix/$f" ] || { echo "missing $prefix/$f"; exit 1; }
done
[ "$(readlink "$prefix/lib/libsipc.so.1")" = libsipc.so.1.0.0 ] || { echo "bad libsipc.so.1 link"; exit 1; }
[ "$(readlink "$prefix/lib/libsipc.so")" = libsipc.so.1 ] || { echo "bad libsipc.so link"; exit 1; }
objdump -p "$prefix/lib/libsipc.so.1.0.0" | grep -q 'SONAME *libsipc.so.1$' || { echo "bad soname"; exit 1; }
"$prefix/bin/sipc" --help >/dev/null

# Runs a pair of programs on a fresh channel and checks the lines they printed; the channel is gone after.
pairs=0
pair() { # label, first program, second program, two expected lines
  pairs=$((pairs + 1))
  name="tinstall-$run-$pairs"
  "$2" "$name" >"$work/out1" 2>&1 &
  first=$!
  "$3" "$name" >"$work/out2" 2>&1 || { echo "$1: second failed:"; cat "$work/out2"; kill "$first"; exit 1; }
  wait "$first" || { echo "$1: first failed:"; cat "$work/out1"; exit 1; }
  # Who opened first (the server) is up to the scheduler: each line must come from one of the two.
  cat "$work/out1" "$work/out2" >"$work/both"
  grep -qx "$4" "$work/both" && grep -qx "$5" "$work/both" || {
    echo "$1: unexpected output:"; cat "$work/out1" "$work/out2"; exit 1; }
  set +e
  "$prefix/bin/sipc" stat "$name" >/dev/null 2>&1
  code=$?
  set -e
  [ $code -eq 12 ] || { echo "$1: channel $name left behind"; exit 1; }
  echo "ok   $1"
}
demo() { # label, folder with process1 and process2
  pair "$1" "$2/process1" "$2/process2" 'process1 got: Hello to you too, process1' 'process2 got: Hello other process..'
}
hello() { # label, first program, second program (whichever opens first is the server)
  pair "$1" "$2" "$3" 'server got: hello' 'client got: hello back'
}

echo "== pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion sipc)" = 1.0.0 ]
out="$work/pkg"
mkdir -p "$out"
cc -std=c11 -Wall -Wextra -Werror -o "$out/hello" "$examples/hello.c" $(pkg-config --cflags --libs sipc) \
  -Wl,-rpath,"$(pkg-config --variable=libdir sipc)"
cc -std=c11 -Wall -Wextra -Werror -o "$out/hello_static" "$examples/hello.c" $(pkg-config --cflags sipc) \
  "$(pkg-config --variable=libdir sipc)/libsipc.a" $(pkg-config --static --libs sipc | sed 's/-lsipc//')
for p in process1 process2; do
  c++ -std=c++17 -Wall -Wextra -Werror -o "$out/$p" "$examples/$p.cpp" $(pkg-config --cflags --libs sipc) \
    -Wl,-rpath,"$(pkg-config --variable=libdir sipc)"
done
readelf -d "$out/hello" | grep -q 'NEEDED.*libsipc.so.1' || { echo "hello does not link libsipc.so.1"; exit 1; }
if readelf -d "$out/hello_static" | grep -q 'libsipc'; then echo "hello_static links libsipc dynamically"; exit 1; fi
hello "C shared, pkg-config" "$out/hello" "$out/hello"
hello "C static, pkg-config" "$out/hello_static" "$out/hello_static"
demo "C++ Process1/Process2, pkg-config" "$out"

echo "== CMake find_package(sipc)"
cmake -S "$helper/../test/install" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DEXAMPLES="$examples" \
  -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; exit 1; }
cmake --build "$work/cmake" >>"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; exit 1; }
hello "C shared, CMake sipc::sipc" "$work/cmake/hello_c" "$work/cmake/hello_c"
hello "C static, CMake sipc::sipc_static" "$work/cmake/hello_c_static" "$work/cmake/hello_c"
demo "C++ Process1/Process2, CMake sipc::sipc" "$work/cmake"
echo "install checks passed"
