#!/usr/bin/env bash
# Installs the interop harness's npm dependencies (the real upstream
# @venizia/ignis-helpers and Bun, from the npm registry) into
# internal/interop/js/node_modules, exactly as pinned by package-lock.json.
#
# Idempotent: skips `npm ci` when node_modules was installed from the same
# package.json + package-lock.json and the Bun binary runs. Exits non-zero with
# a message on stderr when anything is missing or fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

fail() {
	echo "interop/install.sh: $*" >&2
	exit 1
}

command -v node >/dev/null 2>&1 || fail "node not found in PATH (Node >= 18 is needed to install the harness)"
command -v npm >/dev/null 2>&1 || fail "npm not found in PATH"
[ -f package-lock.json ] || fail "package-lock.json missing in $here"

# Serialise concurrent runs (two test binaries, or a developer and a test).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$here/.install.lock"
	flock -w 300 9 || fail "timed out waiting for another install.sh to finish"
fi

stamp_file="node_modules/.echows-install-stamp"
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"

bun_ok() {
	[ -x node_modules/.bin/bun ] && node_modules/.bin/bun --version >/dev/null 2>&1
}

if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ] && bun_ok; then
	exit 0
fi

echo "interop/install.sh: npm ci in $here (node $(node --version), npm $(npm --version))" >&2
rm -f "$stamp_file"
if ! npm ci --no-audit --no-fund --loglevel=error >&2; then
	fail "npm ci failed (is the npm registry reachable?)"
fi

# Bun's npm package ships a placeholder bin/bun.exe that its postinstall script
# replaces with the platform binary (from @oven/bun-<os>-<arch>). If install
# scripts were skipped, run that step by hand.
if ! bun_ok; then
	echo "interop/install.sh: bun binary not in place, running bun's install.js" >&2
	(cd node_modules/bun && node install.js) >&2 || true
fi
bun_ok || fail "node_modules/.bin/bun does not run on this machine ($(uname -sm)); see node_modules/bun/bin/README.txt"

echo "$want" >"$stamp_file"
echo "interop/install.sh: installed; bun $(node_modules/.bin/bun --version)" >&2
