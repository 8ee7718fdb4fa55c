#!/bin/sh
# The build's name, for meson's vcs_tag (meson.build beside this file): the commit as
# `git describe --always --abbrev=12` names it, and where the sources the binary is built from
# differ from that commit, "-dirty-" and the first 12 hex digits of the SHA-256 of the
# differences: the diff of src/, include/, meson.build and meson_options.txt against the commit
# (in a fixed form, whatever the user's git config says), then each untracked source file there
# (*.c, *.h, *.in, *.sh, meson.build under src/ and include/; in byte order) as its path, a newline and its bytes. So
# two builds of one commit with different edits have different names, and an edit elsewhere
# (docs, tests, jobs; an editor's swap file) changes nothing. Fails where there is no git or no
# sha256sum, and vcs_tag then uses the version.
#   build_id.sh SOURCE_ROOT
set -eu
cd "$1"
command -v sha256sum >/dev/null
git() { command git -c core.quotePath=false "$@"; }
commit=$(git describe --always --abbrev=12)
set -- src include meson.build meson_options.txt
untracked() {
  git ls-files --others --exclude-standard -- 'src/*.c' 'src/*.h' 'include/*.h' \
    'include/*.in' 'include/*.sh' 'src/*meson.build' 'include/*meson.build' | LC_ALL=C sort
}
if git diff HEAD --quiet -- "$@" && [ -z "$(untracked)" ]; then
  printf '%s\n' "$commit"
  exit 0
fi
digest=$({
  git diff HEAD --binary --no-color --no-ext-diff --no-textconv --no-renames \
    --diff-algorithm=myers --indent-heuristic -U3 --inter-hunk-context=0 --src-prefix=a/ \
    --dst-prefix=b/ -- "$@"
  untracked | while IFS= read -r file; do
    printf '%s\n' "$file"
    cat "$file"
  done
} | sha256sum | cut -c1-12)
printf '%s-dirty-%s\n' "$commit" "$digest"
