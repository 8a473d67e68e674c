#!/usr/bin/env bash
# Installs what the check of the committed browser bundle needs (tests/collect/test_web_form.py
# rebuilds web/src with esbuild and compares with src/quietpoll/collect/static): Debian's nodejs and
# npm (as root, with apt-get) when missing, then the locked npm packages of web/ (`npm ci`, from the
# npm registry; nothing runs their install scripts' network fetches: esbuild's binary is an npm package).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-web-deps: node/npm are missing; run this script as root (apt-get install nodejs npm)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -d web/node_modules/esbuild ]; then
  npm ci --prefix web --no-audit --no-fund --loglevel=error
fi
echo "node: $(node --version); web/node_modules: $(ls web/node_modules | wc -l) package folder(s)"
