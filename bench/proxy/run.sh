#!/usr/bin/env bash
# Proxy benchmark: direct loopback, para's proxy, tinyproxy (Debian) and the
# proxy of Anthropic's sandbox-runtime, measured in one run on loopback.
#
#   bench/proxy/run.sh [BUILD_DIR] [driver options...]
#
# BUILD_DIR (default: build) must hold a built `para` (ninja -C build para).
# Driver options scale the run, e.g. --single_bytes 1073741824 --only para.
# Needs: g++, tinyproxy, node + npm, ripgrep and socat (sandbox-runtime checks
# for them), all in .ci/setup. sandbox-runtime is installed by npm into
# bench/proxy/.scratch (git-ignored), at the version pinned below.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-build}"
[[ $# -gt 0 ]] && shift
[[ "$build" = /* ]] || build="$root/$build"
scratch="$here/.scratch"
srt_version="0.0.78"
mkdir -p "$scratch"

[[ -x "$build/para" ]] || { echo "bench: $build/para is missing; run: ninja -C $build para" >&2; exit 1; }
if [[ ! -f "$scratch/node_modules/@anthropic-ai/sandbox-runtime/package.json" ]] ||
   ! grep -q "\"version\": \"$srt_version\"" "$scratch/node_modules/@anthropic-ai/sandbox-runtime/package.json"; then
  (cd "$scratch" && npm install --no-audit --no-fund --loglevel=error "@anthropic-ai/sandbox-runtime@$srt_version")
fi
cp "$here/srt_proxy.mjs" "$scratch/srt_proxy.mjs"
g++ -std=c++20 -O2 -Wall -Wextra -Wno-missing-field-initializers -Werror -pthread "$here/driver.cpp" -o "$scratch/driver"

echo "bench: $(nproc) CPUs, $(uname -r), para $(git -C "$root" rev-parse --short HEAD)," \
     "tinyproxy $(dpkg-query -W -f='${Version}' tinyproxy), node $(node --version)," \
     "sandbox-runtime $srt_version" >&2
exec "$scratch/driver" --para "$build/para" --tinyproxy "$(command -v tinyproxy || echo /usr/bin/tinyproxy)" \
  --srt-dir "$scratch" --scratch "$scratch" "$@"
