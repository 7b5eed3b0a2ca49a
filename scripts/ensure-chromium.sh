#!/usr/bin/env bash
# Browser tests and server-side browser sessions drive Debian's Chromium through Playwright.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ]; then echo "install chromium (apt-get install -y chromium) as root" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# Run as root, the browser worker starts Chromium as an unprivileged user (sandbox on): create it.
"$(dirname "$0")/ensure-browser-user.sh"
