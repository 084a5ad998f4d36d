#!/usr/bin/env bash
# Installs Debian's Chromium for the end-to-end browser tests.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || {
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q chromium >/dev/null
}
test -x /usr/bin/chromium && echo "chromium: $(/usr/bin/chromium --version)"
