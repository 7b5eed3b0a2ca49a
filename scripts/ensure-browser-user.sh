#!/usr/bin/env bash
# The server-side browser's Chromium runs as an unprivileged system user whenever the browser worker
# runs as root (docs/browser-sandbox.md). Create that user if it is missing, and keep the project's
# secrets out of its reach: .env, the SQLite databases and var/ (media, recordings) become readable
# by their owner only. Not root: nothing to do, Chromium runs as the worker's own user.
# Usage: scripts/ensure-browser-user.sh   (BROWSER_RUN_AS_USER names the user, default tandem-browser)
set -euo pipefail

[ "$(id -u)" = 0 ] || exit 0

root="$(cd "$(dirname "$0")/.." && pwd)"
user="${BROWSER_RUN_AS_USER:-}"
if [ -z "$user" ] && [ -f "$root/.env" ]; then  # the settings read .env too
  user="$(sed -n -E 's/^[[:space:]]*(export[[:space:]]+)?BROWSER_RUN_AS_USER=["'"'"']?([^"'"'"']*)["'"'"']?[[:space:]]*$/\2/p' "$root/.env" | tail -1)"
fi
user="${user:-tandem-browser}"

if [ "$user" = root ]; then echo "BROWSER_RUN_AS_USER must not be root" >&2; exit 2; fi
if ! getent passwd "$user" >/dev/null; then
  useradd --system --user-group --home-dir "/var/lib/$user" --create-home \
    --shell /usr/sbin/nologin --comment "Tandem server-side browser" "$user"
  chmod 0700 "/var/lib/$user"
  echo "created system user $user"
fi
if [ "$(id -u "$user")" = 0 ]; then echo "BROWSER_RUN_AS_USER ($user) has uid 0" >&2; exit 2; fi

mkdir -p "$root/var"
chmod go-rwx "$root/var"
for secret in "$root/.env" "$root"/db.sqlite3* "$root"/.test-db.sqlite3*; do
  if [ -e "$secret" ]; then chmod go-rwx "$secret"; fi
done
