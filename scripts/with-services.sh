#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL and Redis of its own on loopback, then stops them.
# Exports DATABASE_URL and REDIS_URL to the command.
set -euo pipefail
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

run_dir=$(mktemp -d /tmp/stampcard-services.XXXXXX)
chmod 755 "$run_dir"
pg_port=$(free_port)
redis_port=$(free_port)
as_postgres=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$run_dir"   # PostgreSQL refuses to run as root
  as_postgres=(runuser -u postgres --)
fi

stop() {
  "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$run_dir/pg" -m immediate stop >/dev/null 2>&1 || true
  [ -f "$run_dir/redis.pid" ] && kill "$(cat "$run_dir/redis.pid")" 2>/dev/null || true
  rm -rf "$run_dir"
}
trap stop EXIT

"${as_postgres[@]}" "$pg_bin/initdb" -D "$run_dir/pg" -A trust -U postgres --no-sync >/dev/null
# Tuned for a throwaway test server: durability is not needed, connections are.
"${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$run_dir/pg" -l "$run_dir/pg.log" -w \
  -o "-p $pg_port -k $run_dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=${PG_FSYNC:-off} -c synchronous_commit=${PG_SYNCHRONOUS_COMMIT:-off} -c full_page_writes=off" \
  start >/dev/null
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize yes --pidfile "$run_dir/redis.pid" --logfile "$run_dir/redis.log"

export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/stampcard"
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
export PGHOST=127.0.0.1 PGPORT=$pg_port PGUSER=postgres
"$pg_bin/createdb" stampcard
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$@"
