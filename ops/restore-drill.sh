#!/usr/bin/env bash
# Restore drill for operators (docs/operations.md): restore a base backup and the WAL archive into a scratch
# cluster on this machine, to a point in time or to the end of the archive, start the binary's api role on it,
# and report the RTO and RPO of the restore and what the service would send once its engine runs.
#
# Nothing leaves this machine: the scratch cluster listens on 127.0.0.1 only (password known to this run),
# does not archive (it must not write a new timeline into the production archive), and only the api role runs
# (no scheduler, no worker: a restored copy of production would otherwise notify real people). Everything is
# deleted afterwards unless --keep is given.
#
#   ops/restore-drill.sh --base-backup /backup/base/2026-12-06 --wal-archive /backup/wal \
#       [--target-time '2026-12-06 14:02:59+00'] [--database escalating_reminders] [--binary PATH] [--keep]
#
# --base-backup is a pg_basebackup directory, plain (a data directory) or tar format (base.tar[.gz] and
# pg_wal.tar[.gz]). Secrets come from the environment as for the service (ENCRYPTION_KEY, JWT_SECRET,
# JWT_REFRESH_SECRET, APP_ENV). Run it as root (PostgreSQL then runs as the postgres user) or as postgres.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
BASE=""
ARCHIVE=""
TARGET=""
DATABASE="escalating_reminders"
BINARY="${BINARY:-$(command -v escalating-reminders || true)}"
KEEP=0

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --base-backup) BASE="$2"; shift 2 ;;
    --wal-archive) ARCHIVE="$2"; shift 2 ;;
    --target-time) TARGET="$2"; shift 2 ;;
    --database) DATABASE="$2"; shift 2 ;;
    --binary) BINARY="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done
[ -d "$BASE" ] || { echo "--base-backup: no such directory: $BASE" >&2; exit 2; }
[ -d "$ARCHIVE" ] || { echo "--wal-archive: no such directory: $ARCHIVE" >&2; exit 2; }
[ -x "$BINARY" ] || { echo "the escalating-reminders binary was not found; pass --binary" >&2; exit 2; }
BASE="$(cd "$BASE" && pwd)"
ARCHIVE="$(cd "$ARCHIVE" && pwd)"

# PostgreSQL refuses to run as root: as root, run its programs as the postgres user.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
now() { date +%s.%N; }
since() { awk -v from="$1" -v to="$(now)" 'BEGIN { printf "%.1f", to - from }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

SCRATCH="$(mktemp -d /tmp/er-restore-drill.XXXXXX)"
DATA="$SCRATCH/data"
PG_PORT="$(free_port)"
APP_PORT="$(free_port)"
APP_PID=""
# Over the socket in the scratch directory (only root and postgres may enter it), as postgres (peer).
psql_value() { as_pg "$PG_BIN/psql" -h "$SCRATCH" -p "$PG_PORT" -U postgres -d "$1" -XAtq -c "$2"; }
cleanup() {
  if [ -n "$APP_PID" ]; then kill "$APP_PID" 2>/dev/null || true; wait "$APP_PID" 2>/dev/null || true; fi
  if [ "$KEEP" = 1 ]; then
    echo "kept: $SCRATCH (cluster on port $PG_PORT, socket in $SCRATCH; stop it: pg_ctl -D $DATA stop)"
  else
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$SCRATCH"
  fi
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$SCRATCH"; fi

echo "restoring $BASE with WAL from $ARCHIVE into $DATA${TARGET:+ up to $TARGET}"
STARTED="$(now)"

# 1. The base backup into an empty data directory.
as_pg mkdir -m 700 "$DATA"
if compgen -G "$BASE/base.tar*" >/dev/null; then
  as_pg tar -xf "$(compgen -G "$BASE/base.tar*" | head -1)" -C "$DATA"
  if compgen -G "$BASE/pg_wal.tar*" >/dev/null; then
    as_pg tar -xf "$(compgen -G "$BASE/pg_wal.tar*" | head -1)" -C "$DATA/pg_wal"
  fi
else
  as_pg cp -a "$BASE/." "$DATA/"
fi

# 2. Recovery settings. A cluster whose configuration lives elsewhere (Debian: /etc/postgresql) has no
#    postgresql.conf in its backup: start from an empty one. The options of step 3 override the backup's.
as_pg touch "$DATA/postgresql.conf"
{
  echo "# restore drill"
  echo "restore_command = 'cp $ARCHIVE/%f %p'"
  if [ -n "$TARGET" ]; then
    echo "recovery_target_time = '$TARGET'"
    echo "recovery_target_action = 'promote'"
  fi
} | as_pg tee -a "$DATA/postgresql.auto.conf" >/dev/null
as_pg touch "$DATA/recovery.signal"
printf 'local all postgres peer\nhost all postgres 127.0.0.1/32 scram-sha-256\n' \
  | as_pg tee "$SCRATCH/pg_hba.conf" >/dev/null

# 3. Start it in recovery; it promotes at the target, or at the end of the archive without one.
as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$SCRATCH/postgres.log" -w -t 3600 start -o \
  "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$SCRATCH -c archive_mode=off \
   -c hba_file=$SCRATCH/pg_hba.conf -c ssl=off" >/dev/null || true
if ! as_pg "$PG_BIN/pg_isready" -h "$SCRATCH" -p "$PG_PORT" -q; then
  echo "the restored cluster did not start; its log:" >&2
  tail -30 "$SCRATCH/postgres.log" >&2
  exit 1
fi
until [ "$(psql_value postgres 'SELECT pg_is_in_recovery()')" = "f" ]; do
  if grep -q "recovery ended before configured recovery target was reached" "$SCRATCH/postgres.log"; then
    echo "the archive ends before the target: pick an earlier --target-time" >&2
    exit 1
  fi
  sleep 0.2
done
RECOVERED="$(since "$STARTED")"
LAST_COMMIT="$(psql_value postgres 'SELECT pg_last_xact_replay_timestamp()')"
PASSWORD="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
psql_value postgres "SET password_encryption = 'scram-sha-256'; ALTER ROLE postgres PASSWORD '$PASSWORD'" >/dev/null

# 4. The api role on it (it applies migrations if the binary is newer than the backup). Ready: the RTO.
DATABASE_URL="postgres://postgres:$PASSWORD@127.0.0.1:$PG_PORT/$DATABASE?sslmode=disable" PORT="$APP_PORT" \
  HOST=127.0.0.1 REDIS_URL="" "$BINARY" --role api >"$SCRATCH/app.log" 2>&1 &
APP_PID=$!
until curl -fsS "http://127.0.0.1:$APP_PORT/health/ready" >/dev/null 2>&1; do
  kill -0 "$APP_PID" 2>/dev/null || { echo "the binary exited:" >&2; tail -20 "$SCRATCH/app.log" >&2; exit 1; }
  sleep 0.1
done
READY="$(since "$STARTED")"

# 5. The report.
q() { psql_value "$DATABASE" "$1"; }
echo "recovered and promoted after ${RECOVERED}s; /health/ready answered 200 after ${READY}s (RTO)"
echo "last transaction replayed: $LAST_COMMIT"
if [ -n "$TARGET" ]; then
  echo "RPO (target - last transaction replayed): $(psql_value postgres \
    "SELECT extract(epoch FROM '$TARGET'::timestamptz - pg_last_xact_replay_timestamp())")s"
fi
echo "users: $(q 'SELECT count(*) FROM users')"
echo "active reminders: $(q "SELECT count(*) FROM reminders WHERE status = 'active'")"
echo "once the engine runs, it would at once:"
echo "  fire reminders already due: $(q "SELECT count(*) FROM reminders
    WHERE status = 'active' AND next_trigger_at <= now()")"
echo "  send deliveries owed at the restore point again (same webhook-id): $(q "SELECT count(*) FROM deliveries
    WHERE (status = 'pending' OR (status = 'sending' AND channel <> 'sms')) AND next_attempt_at <= now()")"
echo "  mark SMS in flight at the restore point failed (unknown outcome), not resent: $(q "SELECT count(*)
    FROM deliveries WHERE status = 'sending' AND channel = 'sms'")"
