#!/usr/bin/env bash
# HeadSplat Studio set-up for Debian/Ubuntu: Debian packages, .venv, the project itself.
# Idempotent: a second run checks stamps and returns in seconds.
#
#   bash installer/setup.sh            set up only
#   bash installer/setup.sh studio     set up, then launch the studio (needs a display)
#   bash installer/setup.sh test       set up (with test extras), then run the test suite
#                                      (under a virtual X display when none exists)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:-setup}
[ $# -gt 0 ] && shift
PY=${PYTHON:-python3}
VENV=$ROOT/.venv

say() { printf '\033[1m[headsplat]\033[0m %s\n' "$*"; }
# pip, minus the "Location ... is ignored" lines some machines' pip config (absent find-links) prints
pip_() { "$VENV/bin/python" -m pip "$@" 2> >(grep -v "^WARNING: Location '" >&2); }

apt_install() {  # install the Debian packages listed in the given files that are missing
  local want=() pkg
  for f in "$@"; do
    while read -r pkg; do
      pkg=${pkg%%#*}; pkg=${pkg// /}
      [ -n "$pkg" ] || continue
      dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || want+=("$pkg")
    done <"$f"
  done
  [ ${#want[@]} -eq 0 ] && return 0
  local SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      say "missing Debian packages (install them as root): ${want[*]}"; return 0; fi
  fi
  say "installing Debian packages: ${want[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
}

APT_LISTS=(installer/requirements-apt.txt)
EXTRAS=""
if [ "$MODE" = test ]; then APT_LISTS+=(installer/requirements-apt-test.txt); EXTRAS="[test]"; fi
if command -v dpkg-query >/dev/null; then apt_install "${APT_LISTS[@]}"; else
  say "not a Debian system: install PortAudio and an OpenGL driver yourself (see installer/README.md)"; fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PY" -m venv "$VENV"
fi
# Reinstall only when the dependency definition changed (pyproject.toml + extras).
STAMP=$VENV/.headsplat-installed
WANT="$(sha256sum pyproject.toml | cut -c1-16)$EXTRAS"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  say "installing the project and its Python dependencies into .venv (first run takes a minute)"
  pip_ install -q --upgrade pip >/dev/null
  pip_ install -q -e ".$EXTRAS"
  echo "$WANT" >"$STAMP"
fi

case "$MODE" in
  setup) say "ready: .venv/bin/headsplat-studio (GUI), .venv/bin/headsplat doctor (check)";;
  studio)
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
      say "no display found, so the studio window cannot open here."
      say "headless options:"
      say "  .venv/bin/headsplat doctor                          check the machine"
      say "  xvfb-run -a -s '-screen 0 1280x800x24' .venv/bin/headsplat-studio --screenshot shot.png"
      say "                                                      render the studio into a PNG"
      exit 2
    fi
    exec "$VENV/bin/headsplat-studio" "$@";;
  test)
    export PATH=$VENV/bin:$PATH
    if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then
      exec xvfb-run -a -s "-screen 0 1280x800x24" "$VENV/bin/python" -m pytest "$@"
    fi
    exec "$VENV/bin/python" -m pytest "$@";;
  *) echo "usage: $0 [setup|studio|test] [args...]" >&2; exit 64;;
esac
