#!/usr/bin/env bash
# Installs what the browser tests (tests/browser) need: Debian's chromium and a Korean font (Noto CJK,
# so screenshots of Korean pages show text, not boxes), as root, with apt-get.
# Playwright (Python) comes from the project's test extras; it drives /usr/bin/chromium and never
# downloads a browser of its own (do not run `playwright install`).
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-browser-deps: /usr/bin/chromium or the Noto CJK font is missing; run this script as root (apt-get install chromium fonts-noto-cjk)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"
