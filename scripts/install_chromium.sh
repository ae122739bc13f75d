#!/usr/bin/env bash
# Debian's chromium for the report's browser test (tests/test_report_browser.py), installed with
# apt-get only when missing. Never fails: where it cannot be installed (no apt-get, not root and no
# passwordless sudo, no network) it says why, and the browser test skips with the same reason.
set -u
command -v chromium >/dev/null 2>&1 && exit 0
why() { echo "make browser: chromium not installed ($1); the report's browser test will be skipped"; exit 0; }
command -v apt-get >/dev/null 2>&1 || why "no apt-get on this machine"
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  why "installing needs root or passwordless sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "make browser: installing Debian's chromium with apt-get (once)"
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
  || { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium; } \
  || why "apt-get install chromium failed"
