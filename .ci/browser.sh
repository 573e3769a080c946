#!/usr/bin/env bash
# Chromium and CJK fonts for the real-browser test (tests/ui/test_browser.py), from Debian's packages when
# one is missing; Playwright drives this chromium, its own browser download is not used. Quiet and
# idempotent: does nothing when both are there already. Run as root (CI).
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
  echo "installing chromium and fonts-noto-cjk from Debian's packages" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
fi
command -v chromium >/dev/null
