#!/usr/bin/env bash
# The whole test suite: an optimized build, then the same tests under
# AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
# a test writes into its temporary directory, never the repository: the tree's
# state before and after the suite must be the same (a report page and nine
# configs written into the root were once committed by mistake)
tree_state() { git status --porcelain --untracked-files=all 2>/dev/null || true; }
state_before=$(tree_state)
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
state_after=$(tree_state)
if [ "$state_after" != "$state_before" ]; then
  echo "tests/run.sh: the suite changed the repository tree (git status before and after):" >&2
  diff <(echo "$state_before") <(echo "$state_after") >&2 || true
  exit 1
fi
