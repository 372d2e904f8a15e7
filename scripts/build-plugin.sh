#!/bin/sh
# Builds tsvm when needed and writes its AvalancheGo plugin launcher at <output-path>.
#
#   scripts/build-plugin.sh <output-path>
#
# This is the build script of avalanche-cli's custom-VM repository mode:
#   avalanche blockchain create <name> --custom --custom-vm-repo-url <this repo> \
#     --custom-vm-branch <branch> --custom-vm-build-script scripts/build-plugin.sh --sovereign=false ...
# avalanche-cli runs it inside its clone of the repository and copies <output-path> to the node's
# plugin dir. The launcher runs this clone's build with absolute paths, so the clone must stay.
# TSVM_PLUGIN_PROTOCOL picks the rpcchainvm protocol (42-46, default 45 = AvalancheGo v1.14.2);
# TSVM_NO_BUILD=1 uses the build that is there (and fails without one) instead of rebuilding.
set -eu

if [ "$#" -ne 1 ]; then
  echo "usage: $0 <output-path>" >&2
  exit 2
fi
case "$1" in
  /*) out=$1 ;;
  *) out=$(pwd)/$1 ;;
esac

cd "$(dirname "$0")/.."
command -v node >/dev/null 2>&1 || { echo "$0: node (>= 20.19) is not on PATH" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "$0: npm is not on PATH" >&2; exit 1; }

if [ -z "${TSVM_NO_BUILD:-}" ]; then
  if [ ! -d node_modules ]; then
    npm ci --no-audit --no-fund >&2
  fi
  if [ ! -f dist/bundle/plugin.js ] || [ ! -f dist/bundle/main.js ] || [ -n "$(find src package.json -newer dist/bundle/plugin.js -print -quit)" ]; then
    npm run build >&2
  fi
fi

exec node bin/run.js plugin install --out "$out" --protocol "${TSVM_PLUGIN_PROTOCOL:-45}" --force
