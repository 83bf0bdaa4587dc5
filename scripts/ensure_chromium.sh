#!/usr/bin/env bash
# Make sure a Chromium the report tests can drive headless is installed: Debian's `chromium`
# package (browser downloads such as `playwright install` cannot reach their hosts from CI).
# Idempotent: does nothing when a Chromium binary is already on PATH. Uses sudo only when not
# root and sudo exists. `make test` and `.ci/run` call it before pytest.
set -euo pipefail

find_chromium() {
    local name
    for name in chromium chromium-browser google-chrome-stable google-chrome; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if found=$(find_chromium); then
    echo "ensure_chromium: $found"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "ensure_chromium: no chromium found, and installing it needs root (or sudo):" \
        "apt-get install chromium" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: no chromium found and no apt-get here; install Chromium by hand" >&2
    exit 1
fi

echo "ensure_chromium: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
found=$(find_chromium)
echo "ensure_chromium: $found ($("$found" --version 2>/dev/null || echo "version unknown"))"
