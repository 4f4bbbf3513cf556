#!/usr/bin/env bash
# Keeps the docs true to the tree: every repository path that README.md and docs/*.md name
# (in backquotes or as a relative link) exists inside the repository, and every document
# under docs/ that the code, build files and scripts cite exists, with the numbered section
# it cites (PRINCIPLES.md's "## N." headings, CODING.md's "N." rules).
#   check_doc_paths.sh SOURCE_DIR
# Exit 0 when everything named exists; 1 with one line per missing name.
set -uo pipefail
cd "${1:?usage: check_doc_paths.sh SOURCE_DIR}" || exit 1
missing=0

missing() {
  echo "$1: names $2, which does not exist"
  missing=1
}

# a/b.{h,c} -> a/b.h a/b.c (the docs' shorthand for a header and its source)
expand() {
  if [[ $1 =~ ^(.*)\{([^}]*)\}(.*)$ ]]; then
    local alt
    IFS=, read -ra alt <<< "${BASH_REMATCH[2]}"
    for a in "${alt[@]}"; do echo "${BASH_REMATCH[1]}$a${BASH_REMATCH[3]}"; done
  else
    echo "$1"
  fi
}

roots='(common|x1|x2x3|mediation|handover|deploy|tests|docs|cmake|\.ci)/'
for doc in README.md docs/*.md; do
  dir=$(dirname "$doc")
  # Backquoted repository paths; placeholders (<id>, *, $VAR) and build outputs are not files.
  while read -r token; do
    token=${token%%:[0-9]*}
    for path in $(expand "$token"); do
      [ -e "$path" ] || missing "$doc" "$path"
    done
  done < <(grep -o '`[^`]*`' "$doc" | tr -d '`' | grep -E "^$roots[^ ]*$" |
           grep -v -E '[<>*$]|^build/')
  # Relative links, from the document's own folder.
  while read -r link; do
    link=${link%%#*}
    [ -z "$link" ] && continue
    [ -e "$dir/$link" ] || missing "$doc" "$link"
    case $(realpath -m "$dir/$link") in
      "$PWD"/*) ;;
      *) echo "$doc: links to $link, outside the repository"; missing=1 ;;
    esac
  done < <(grep -o '\]([^)]*)' "$doc" | sed 's/^](//; s/)$//' | grep -v -E '^(https?|mailto):')
  # Sections of PRINCIPLES.md cited by number.
  while read -r section; do
    grep -q "^## $section\. " docs/PRINCIPLES.md || missing "$doc" "PRINCIPLES.md section $section"
  done < <(grep -o -E 'PRINCIPLES\.md\]?(\([^)]*\))? [0-9]+\b' "$doc" | grep -o -E '[0-9]+$' | sort -u)
done

# The code, build files and scripts: git's list, or the tree without build folders.
sources() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -- '*.c' '*.h' '*.proto' '*.sh' '*.py' '*.cmake' '*CMakeLists.txt' '.ci/*'
  else
    find . -path './build*' -prune -o -path './.git' -prune -o -type f \( -name '*.[ch]' \
      -o -name '*.proto' -o -name '*.sh' -o -name '*.py' -o -name '*.cmake' \
      -o -name CMakeLists.txt -o -path './.ci/*' \) -print | sed 's|^\./||'
  fi
}

# What the code cites of docs/: the file, and for PRINCIPLES.md and CODING.md the section.
while IFS=: read -r file cite; do
  name=${cite%% *}
  [ -e "$name" ] || { missing "$file" "$name"; continue; }
  section=${cite#"$name"}
  section=${section# }
  [ -z "$section" ] && continue
  case $name in
    docs/PRINCIPLES.md) grep -q "^## $section\. " "$name" || missing "$file" "$name section $section" ;;
    docs/CODING.md) grep -q "^$section\. " "$name" || missing "$file" "$name rule $section" ;;
  esac
done < <(sources | xargs grep -o -E 'docs/[A-Z0-9_-]+\.md( [0-9]+\b)?' /dev/null | sort -u)

exit $missing
