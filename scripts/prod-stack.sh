#!/usr/bin/env bash
# The production-like stack on one machine, in one command (`make stack`): gunicorn (TLS,
# DEBUG off, WhiteNoise static files), a Celery worker pool, celery beat, PostgreSQL, Redis
# and S3-protocol storage (moto's server mode) with private objects and signed URLs.
# Every variable below can be overridden from the environment; README.md explains scale-out.
set -euo pipefail
cd "$(dirname "$0")/.."

make --no-print-directory setup-dev >/dev/null
# shellcheck source=scripts/services.sh
source scripts/services.sh
services_ensure

# Not $PORT: honcho sets PORT for every process it starts.
export STACK_HOST=${STACK_HOST:-127.0.0.1} STACK_PORT=${STACK_PORT:-8443} S3_PORT=${S3_PORT:-9000}
export WEB_WORKERS=${WEB_WORKERS:-3} WEB_THREADS=${WEB_THREADS:-8} WORKER_CONCURRENCY=${WORKER_CONCURRENCY:-2}
# Each web thread keeps its database connection (checked before reuse) instead of opening one per request.
export DB_CONN_MAX_AGE=${DB_CONN_MAX_AGE:-60}
export STACK_DATABASE=${STACK_DATABASE:-creativeadmin}
export DEBUG=false
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$STACK_DATABASE}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
export CACHE_URL=${CACHE_URL:-redis://127.0.0.1:6379/3}  # shared by web and workers: serving's statistics
export MEDIA_STORAGE=s3
export AWS_STORAGE_BUCKET_NAME=${AWS_STORAGE_BUCKET_NAME:-creativeadmin-media}
export AWS_S3_ENDPOINT_URL=${AWS_S3_ENDPOINT_URL:-http://127.0.0.1:$S3_PORT}
export AWS_S3_REGION_NAME=${AWS_S3_REGION_NAME:-us-east-1}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-stack} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-stack-secret}
export DEMO_PASSWORD=${DEMO_PASSWORD:-creative-demo}
# TLS ends at gunicorn itself: there is no proxy, so no X-Forwarded-Proto is to be believed. Behind a
# TLS proxy, set TRUSTED_PROXIES to its addresses (README, Settings).

mkdir -p var/tls
if [ -z "${SECRET_KEY:-}" ]; then
  [ -s var/stack-secret-key ] || (umask 077; .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(50))" > var/stack-secret-key)
  SECRET_KEY=$(cat var/stack-secret-key)
  export SECRET_KEY
fi
if [ ! -s var/tls/cert.pem ]; then
  # A self-signed certificate for 127.0.0.1/localhost: TLS ends at gunicorn, as it would at a proxy.
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout var/tls/key.pem -out var/tls/cert.pem 2>/dev/null
  chmod 600 var/tls/key.pem
fi

stand_in=false
[ "$AWS_S3_ENDPOINT_URL" = "http://127.0.0.1:$S3_PORT" ] && stand_in=true
case "$DATABASE_URL" in
  postgres://postgres@127.0.0.1:5432/*)
    # The S3 stand-in keeps objects in memory only, so the database starts afresh with it.
    if $stand_in; then pg_database_ensure "${DATABASE_URL##*/}" fresh; else pg_database_ensure "${DATABASE_URL##*/}"; fi ;;
esac
.venv/bin/python manage.py check --deploy --fail-level WARNING
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py collectstatic --noinput >/dev/null

processes="web worker beat"
$stand_in && processes="storage $processes"  # real S3 needs no storage process
echo "Creative Admin (production-like) is starting on https://$STACK_HOST:$STACK_PORT/ (self-signed certificate)"
echo "  processes: $processes; health: https://$STACK_HOST:$STACK_PORT/api/v1/health/"
exec .venv/bin/honcho start -f Procfile $processes
