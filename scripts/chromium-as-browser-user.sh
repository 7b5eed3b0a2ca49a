#!/bin/bash
# Playwright's executable when the browser worker runs as root (browser/launch.py): start
# Chromium as the unprivileged browser user, with its own sandbox on and none of the worker's
# environment. Playwright talks to Chromium over inherited pipes (fds 3 and 4), which survive the
# switch; each step below is an exec, so Playwright's pid, process group and kill stay Chromium's.
#   TANDEM_BROWSER_USER        the user to run as (must exist and must not be root)
#   TANDEM_BROWSER_EXECUTABLE  the Chromium to run (BROWSER_EXECUTABLE_PATH)
# LANG, LC_ALL and TZ are passed on; nothing else of the environment is.
set -euo pipefail

fail() { echo "chromium-as-browser-user: $*" >&2; exit 70; }

[ "$(id -u)" = 0 ] || fail "must be started as root (not root: launch Chromium directly)"
user="${TANDEM_BROWSER_USER:-}"
exe="${TANDEM_BROWSER_EXECUTABLE:-}"
[ -n "$user" ] || fail "TANDEM_BROWSER_USER is not set"
[ -x "$exe" ] || fail "TANDEM_BROWSER_EXECUTABLE is not an executable: $exe"
entry="$(getent passwd "$user")" || fail "user $user does not exist: run scripts/ensure-browser-user.sh"
IFS=: read -r _ _ uid gid _ home _ <<<"$entry"
[ "$uid" != 0 ] || fail "refusing to run Chromium as a root user ($user)"

# Playwright made a fresh profile (--user-data-dir) as root, mode 0700: hand it to the user. Only a
# real directory owned by root, never a symlink, so nothing else can be given away.
for arg in "$@"; do
  case "$arg" in
    --user-data-dir=*)
      dir="${arg#--user-data-dir=}"
      [ -d "$dir" ] && [ ! -L "$dir" ] || fail "profile directory missing: $dir"
      [ "$(stat -c %u "$dir")" = 0 ] || fail "profile directory not owned by root: $dir"
      chown "$uid:$gid" "$dir"
      chmod 0700 "$dir"
      ;;
  esac
done

keep=()
for name in LANG LC_ALL TZ; do
  if [ -n "${!name:-}" ]; then keep+=("$name=${!name}"); fi
done

cd /
exec /usr/bin/env -i PATH=/usr/bin:/bin HOME="$home" USER="$user" LOGNAME="$user" "${keep[@]}" \
  /usr/bin/setpriv --reuid="$uid" --regid="$gid" --init-groups --inh-caps=-all -- "$exe" "$@"
