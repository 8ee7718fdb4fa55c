#!/usr/bin/env bash
# The whole test suite: an optimized build, then the same tests under
# AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
setup() { # DIR ARGS...: configure once, reconfigure later
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then meson setup --reconfigure "$dir" "$@" >/dev/null
  else meson setup "$dir" "$@" >/dev/null; fi
}
setup build
meson compile -C build
meson test -C build --print-errorlogs
setup build-sanitize -Db_sanitize=address,undefined -Dbuildtype=debugoptimized
meson compile -C build-sanitize
# the emulated multi-node cluster tests launchers and job scripts, not sgdmc's memory: once
meson test -C build-sanitize --print-errorlogs --timeout-multiplier 3 --no-suite cluster
