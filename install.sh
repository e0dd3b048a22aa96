#!/bin/sh
# Install claude-wrapper: download this machine's release archive, check it against the release's
# SHA256SUMS, and put the binary in ~/.local/bin (or $CLAUDE_WRAPPER_INSTALL_DIR).
#
#   curl -fsSL https://github.com/claude-wrapper/claude-wrapper/releases/latest/download/install.sh | sh
#   ... | sh -s -- --version 0.1.0          # a given release instead of the latest
#
# CLAUDE_WRAPPER_INSTALL_BASE  URL of a directory holding the archives and SHA256SUMS (default:
#                              the latest GitHub release, or the one --version names)
# CLAUDE_WRAPPER_INSTALL_DIR   where the binary goes (default ~/.local/bin)
#
# Nothing is installed unless the download is complete, SHA256SUMS lists it with the same
# checksum, and the binary runs here; then one rename replaces the old binary, so re-running
# upgrades in place. POSIX sh; needs curl or wget, sha256sum or shasum, and tar.
set -eu

# The GitHub repository the releases are published under (owner/name).
REPO="claude-wrapper/claude-wrapper"

PLATFORMS="linux-x64, linux-arm64, darwin-x64, darwin-arm64"

die() {
  printf 'claude-wrapper install: %s\n' "$*" >&2
  exit 1
}

usage_error() {
  printf 'claude-wrapper install: %s; usage: install.sh [--version X.Y.Z]\n' "$*" >&2
  exit 2
}

usage() {
  printf '%s\n' \
    "usage: install.sh [--version X.Y.Z]" \
    "Installs claude-wrapper into \$CLAUDE_WRAPPER_INSTALL_DIR (default ~/.local/bin) from" \
    "\$CLAUDE_WRAPPER_INSTALL_BASE (default: the latest release of github.com/$REPO)."
}

# Sets $platform to one of the release's targets, or stops with one line.
detect_platform() {
  os=$(uname -s 2>/dev/null || echo unknown)
  arch=$(uname -m 2>/dev/null || echo unknown)
  case "$os" in
    Linux) p_os=linux ;;
    Darwin) p_os=darwin ;;
    *) p_os="" ;;
  esac
  case "$arch" in
    x86_64 | amd64) p_arch=x64 ;;
    aarch64 | arm64) p_arch=arm64 ;;
    *) p_arch="" ;;
  esac
  if [ -z "$p_os" ] || [ -z "$p_arch" ]; then
    die "no claude-wrapper build for $os $arch (there are: $PLATFORMS)"
  fi
  # A shell under Rosetta on Apple silicon reports x86_64; the arm64 build is the native one.
  if [ "$p_os-$p_arch" = darwin-x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
    p_arch=arm64
  fi
  platform="$p_os-$p_arch"
}

# download URL FILE: one line naming the URL (and curl's reason) when it fails.
download() {
  if command -v curl >/dev/null 2>&1; then
    if ! err=$(curl -fsSL --retry 2 -o "$2" "$1" 2>&1); then
      die "could not download $1 ($(printf '%s' "$err" | tr '\n' ' ' | sed 's/ *$//'))"
    fi
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || die "could not download $1"
  else
    die "needs curl or wget to download; install one of them"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{ print $1 }'
  else
    shasum -a 256 "$1" | awk '{ print $1 }'
  fi
}

cleanup() {
  [ -n "$tmp" ] && rm -rf "$tmp"
  [ -n "$staged" ] && rm -f "$staged"
  # A refused install takes away the directories it made (rmdir: only while they are empty).
  if [ -z "$installed" ] && [ -n "$created" ]; then
    d=$dir
    while rmdir "$d" 2>/dev/null && [ "$d" != "$created" ]; do d=$(dirname "$d"); done
  fi
  return 0
}

# How to put $dir on PATH, for the user's login shell. (The ~ is printed for the user to run.)
# shellcheck disable=SC2088
path_hint() {
  case "$(basename "${SHELL:-sh}")" in
    zsh) rc="~/.zshrc" ;;
    bash) rc="~/.bashrc" ;;
    fish)
      printf '%s is not on your PATH; add it with:\n  fish_add_path %s\n' "$dir" "$dir"
      return 0
      ;;
    *) rc="~/.profile" ;;
  esac
  printf '%s is not on your PATH; add it, then open a new terminal:\n' "$dir"
  printf "  echo 'export PATH=\"%s:\$PATH\"' >> %s\n" "$dir" "$rc"
}

main() {
  version=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --version)
        [ $# -ge 2 ] || usage_error "--version needs a release, e.g. --version 0.1.0"
        version=$2
        shift 2
        ;;
      --version=*)
        version=${1#--version=}
        shift
        ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) usage_error "unknown argument $1" ;;
    esac
  done
  version=${version#v}
  case "$version" in
    *[!0-9A-Za-z.+-]*) usage_error "not a release version: $version" ;;
  esac

  detect_platform
  command -v tar >/dev/null 2>&1 || die "needs tar to unpack the download; install it"
  if ! command -v sha256sum >/dev/null 2>&1 && ! command -v shasum >/dev/null 2>&1; then
    die "needs sha256sum or shasum to check the download; install one of them"
  fi

  if [ -n "${CLAUDE_WRAPPER_INSTALL_BASE:-}" ]; then
    base=${CLAUDE_WRAPPER_INSTALL_BASE%/}
  elif [ -n "$version" ]; then
    base="https://github.com/$REPO/releases/download/v$version"
  else
    base="https://github.com/$REPO/releases/latest/download"
  fi
  if [ -n "${CLAUDE_WRAPPER_INSTALL_DIR:-}" ]; then
    dir=${CLAUDE_WRAPPER_INSTALL_DIR%/}
  else
    [ -n "${HOME:-}" ] || die "HOME is not set; set CLAUDE_WRAPPER_INSTALL_DIR to where the binary should go"
    dir="$HOME/.local/bin"
  fi
  target="$dir/claude-wrapper"
  [ -d "$target" ] && die "$target is a directory; move it away or set CLAUDE_WRAPPER_INSTALL_DIR"
  archive="claude-wrapper-$platform.tar.gz"

  tmp=""
  staged=""
  created=""
  installed=""
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/claude-wrapper-install.XXXXXX") || die "could not create a temporary directory"

  printf 'Downloading %s from %s\n' "$archive" "$base"
  download "$base/SHA256SUMS" "$tmp/SHA256SUMS"
  download "$base/$archive" "$tmp/$archive"

  expected=$(awk -v n="$archive" '$2 == n || $2 == "*" n { print tolower($1); exit }' "$tmp/SHA256SUMS")
  case "$expected" in
    "") die "SHA256SUMS at $base has no entry for $archive; nothing installed" ;;
    *[!0-9a-f]*) die "SHA256SUMS at $base has a malformed entry for $archive; nothing installed" ;;
  esac
  [ ${#expected} -eq 64 ] || die "SHA256SUMS at $base has a malformed entry for $archive; nothing installed"
  actual=$(sha256_of "$tmp/$archive")
  if [ "$actual" != "$expected" ]; then
    die "checksum mismatch for $archive (SHA256SUMS says $expected, the download is $actual); nothing installed"
  fi

  mkdir "$tmp/unpacked"
  (cd "$tmp/unpacked" && tar -xzof "../$archive" claude-wrapper) >/dev/null 2>&1 ||
    die "$archive does not hold a claude-wrapper binary; nothing installed"
  if [ ! -f "$tmp/unpacked/claude-wrapper" ] || [ -L "$tmp/unpacked/claude-wrapper" ]; then
    die "$archive does not hold a claude-wrapper binary; nothing installed"
  fi

  # The outermost directory that mkdir -p makes, for cleanup to take away on a refusal.
  d=$dir
  while [ ! -d "$d" ]; do
    created=$d
    d=$(dirname "$d")
  done
  mkdir -p "$dir" 2>/dev/null || die "could not create $dir; set CLAUDE_WRAPPER_INSTALL_DIR to a writable directory"
  # Staged beside the target (same file system, so the final mv is one atomic rename) and run
  # once from there: a binary that cannot start on this machine never replaces a working one.
  staged="$dir/.claude-wrapper.new.$$"
  cp "$tmp/unpacked/claude-wrapper" "$staged" 2>/dev/null || die "could not write to $dir; set CLAUDE_WRAPPER_INSTALL_DIR to a writable directory"
  chmod 755 "$staged"
  if ! new_version=$("$staged" --version </dev/null 2>/dev/null); then
    [ "$p_os" = linux ] && die "the $platform build does not start on this machine (it needs glibc); nothing installed"
    die "the $platform build does not start on this machine; nothing installed"
  fi
  if [ -n "$version" ]; then
    case "$new_version" in
      "$version "*) ;;
      *) die "$base holds claude-wrapper $new_version, not $version; nothing installed" ;;
    esac
  fi

  old_version=""
  [ -x "$target" ] && old_version=$("$target" --version </dev/null 2>/dev/null || true)
  mv -f "$staged" "$target" || die "could not replace $target"
  staged=""
  installed=1

  if [ -n "$old_version" ] && [ "$old_version" != "$new_version" ]; then
    printf 'claude-wrapper %s installed to %s (was %s)\n' "$new_version" "$target" "$old_version"
  else
    printf 'claude-wrapper %s installed to %s\n' "$new_version" "$target"
  fi
  case ":${PATH:-}:" in
    *":$dir:"*)
      found=$(command -v claude-wrapper 2>/dev/null || true)
      if [ -n "$found" ] && [ "$found" != "$target" ]; then
        printf 'note: %s comes first on your PATH and shadows it\n' "$found"
      fi
      ;;
    *) path_hint ;;
  esac
}

main "$@"
