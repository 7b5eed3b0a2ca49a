#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1; install (Debian) and start them if not.
# Usage: scripts/ensure-services.sh [postgres] [redis]
set -euo pipefail

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(postgres redis)

apt_install() {
  if [ "$(id -u)" != 0 ]; then echo "need root to apt-get install $*" >&2; exit 1; fi
  if [ ! -f /var/lib/apt/periodic/.tandem-updated ]; then
    apt-get update -qq && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/.tandem-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  echo "service on port $1 did not come up" >&2; exit 1
}

for svc in "${want[@]}"; do
  case "$svc" in
    redis)
      if ! port_open 6379; then
        command -v redis-server >/dev/null || apt_install redis-server
        mkdir -p /var/lib/redis /var/log/redis
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
          --dir /var/lib/redis --logfile /var/log/redis/tandem.log
        wait_port 6379
        echo "started Redis on 127.0.0.1:6379"
      fi
      ;;
    postgres)
      if ! port_open 5432; then
        if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
          apt_install postgresql
          # Trust local TCP connections, as on the development machines.
          for hba in /etc/postgresql/*/main/pg_hba.conf; do
            sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
            sed -i -E 's/^(local\s+all\s+(all|postgres)\s+)\S+/\1trust/' "$hba"
          done
        fi
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
        wait_port 5432
        echo "started PostgreSQL on 127.0.0.1:5432"
      fi
      ;;
    *) echo "unknown service $svc" >&2; exit 2 ;;
  esac
done
