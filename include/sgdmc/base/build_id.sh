#!/bin/sh
# The build's name, for meson's vcs_tag (meson.build beside this file): the commit as
# `git describe --always --abbrev=12` names it, and where the sources the binary is built from
# (src/, include/, meson.build, meson_options.txt) differ from that commit, "-dirty-" and the
# first 12 hex digits of the SHA-256 of the differences: `git diff HEAD --binary` of those
# paths, then each untracked file there (in byte order) as its path, a newline and its bytes.
# So two builds of one commit with different edits have different names, and an edit elsewhere
# (docs, tests, jobs) changes nothing. Fails where there is no git, and vcs_tag then uses the
# version.
#   build_id.sh SOURCE_ROOT
set -eu
cd "$1"
commit=$(git describe --always --abbrev=12)
set -- src include meson.build meson_options.txt
if [ -z "$(git status --porcelain --untracked-files=all -- "$@")" ]; then
  printf '%s\n' "$commit"
  exit 0
fi
digest=$({
  git diff HEAD --binary --no-color --no-ext-diff -- "$@"
  git ls-files --others --exclude-standard -- "$@" | LC_ALL=C sort | while IFS= read -r file; do
    printf '%s\n' "$file"
    cat "$file"
  done
} | sha256sum | cut -c1-12)
printf '%s-dirty-%s\n' "$commit" "$digest"
