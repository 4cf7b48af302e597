# Sourced by .ci/run and scripts/prod-stack.sh: make sure PostgreSQL and Redis answer on
# 127.0.0.1, starting the machine's own service when one does not. Needs .venv (psycopg, redis).
PG_HOST=${PG_HOST:-127.0.0.1} PG_PORT=${PG_PORT:-5432} REDIS_PORT=${REDIS_PORT:-6379}

pg_up() { .venv/bin/python -c "import psycopg; psycopg.connect('host=$PG_HOST port=$PG_PORT user=postgres dbname=test', connect_timeout=3).close()" 2>/dev/null; }
redis_up() { .venv/bin/python -c "import redis; redis.Redis(host='127.0.0.1', port=$REDIS_PORT, socket_timeout=3).ping()" 2>/dev/null; }

services_ensure() {
  if ! pg_up; then
    echo "PostgreSQL is not answering on $PG_HOST:$PG_PORT; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    pg_up || { echo "FATAL: PostgreSQL could not be started on $PG_HOST:$PG_PORT (database 'test', user postgres, trust auth)" >&2; return 1; }
  fi
  if ! redis_up; then
    echo "Redis is not answering on 127.0.0.1:$REDIS_PORT; starting it"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no || true
    for _ in $(seq 1 30); do redis_up && break; sleep 1; done
    redis_up || { echo "FATAL: Redis could not be started on 127.0.0.1:$REDIS_PORT" >&2; return 1; }
  fi
  echo "PostgreSQL and Redis are answering"
}

# Create a PostgreSQL database if it does not exist; with "fresh", drop it first.
pg_database_ensure() {
  .venv/bin/python - "$1" "${2:-}" <<'PY'
import sys, psycopg
name, fresh = sys.argv[1], sys.argv[2] == "fresh"
with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
    if fresh:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
        conn.execute(f'CREATE DATABASE "{name}"')
        print(f"Created database {name}")
PY
}
