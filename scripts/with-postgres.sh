#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster: TLS only, client-certificate
# authentication, listening on 127.0.0.1 on a free port. The cluster lives in a fresh temporary
# directory and is stopped and removed when the command ends, also when it fails or is
# interrupted. Used by the branch-ledger tests and benchmark.
#
#   scripts/with-postgres.sh cargo test -p branch-ledger --locked
#
# Exported for the command:
#   LEDGER_TEST_HOST / LEDGER_TEST_PORT / LEDGER_TEST_DB   where the server listens (database
#                                                          `ledger`, owned by the admin role)
#   LEDGER_TEST_CA                                         the CA certificate (PEM) the server's
#                                                          certificate and every client certificate
#                                                          chain to
#   LEDGER_TEST_CA_KEY                                     the CA's private key, so tests can mint
#                                                          desk certificates (CN = role name)
#   LEDGER_TEST_ADMIN_USER / _CERT / _KEY                  the DBA role (LOGIN CREATEROLE CREATEDB,
#                                                          not a superuser) and its certificate
#   LEDGER_TEST_PG_BIN / _DATA / _LOG / _RUN_AS            pg_ctl's directory, the cluster, its log
#                                                          and OS user (tests stop and start it)
#   LEDGER_TEST_SOCKET_DIR                                 the Unix socket directory (superuser
#                                                          access by peer authentication, for
#                                                          debugging only: tests use TCP + TLS)
#
# Extra server settings: LEDGER_PG_SETTINGS="shared_buffers=2GB max_connections=400" (one
# `name=value` per word, appended to postgresql.conf).
#
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` system user, in a
# directory that user owns. Debian's `postgresql` package is installed with apt when missing.
set -euo pipefail

log() { printf '\033[1m[with-postgres]\033[0m %s\n' "$*" >&2; }

if [ "$#" -eq 0 ]; then
  echo "usage: $0 <command> [args...]" >&2
  exit 2
fi

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    printf '%s\n' "$dir"
  fi
}

BIN=$(pg_bindir)
if [ -z "$BIN" ]; then
  log "PostgreSQL is missing: installing Debian's postgresql package with apt"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql openssl
  BIN=$(pg_bindir)
  [ -n "$BIN" ] || { echo "PostgreSQL is still missing after apt-get install postgresql" >&2; exit 1; }
fi
command -v openssl >/dev/null || { echo "openssl is missing: apt-get install openssl" >&2; exit 1; }

# Who runs the server: the current user, or `postgres` when we are root.
if [ "$(id -u)" -eq 0 ]; then
  RUN_AS=postgres
  id "$RUN_AS" >/dev/null 2>&1 || { echo "user postgres is missing (apt-get install postgresql creates it)" >&2; exit 1; }
  as_server() { runuser -u "$RUN_AS" -- "$@"; }
else
  RUN_AS=$(id -un)
  as_server() { "$@"; }
fi

# As root the server user must reach this directory: /tmp, whatever TMPDIR says.
if [ "$RUN_AS" != "$(id -un)" ]; then BASE=/tmp; else BASE=${TMPDIR:-/tmp}; fi
WORK=$(mktemp -d "$BASE/ledger-pg.XXXXXXXX")
DATA="$WORK/data"
SOCK="$WORK/sock"
PKI="$WORK/pki"
PGLOG="$WORK/server.log"
STARTED=""
CHILD=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM HUP
  if [ -n "$CHILD" ]; then
    kill -TERM "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
  if [ -n "$STARTED" ]; then
    as_server "$BIN/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The server user must reach its directories inside our private temporary directory.
chmod 711 "$WORK"
mkdir -p "$DATA" "$SOCK" "$PKI"
chmod 700 "$DATA" "$PKI"
chmod 755 "$SOCK"
if [ "$RUN_AS" != "$(id -un)" ]; then
  chown "$RUN_AS" "$DATA" "$SOCK"
fi

# --- certificates: a CA, the server (localhost / 127.0.0.1) and the DBA role -----------------
ADMIN_USER=ledger_admin
(
  cd "$PKI"
  newkey() { # PKCS#8 P-256 key
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  }
  newkey ca.key
  openssl req -new -x509 -key ca.key -sha256 -days 2 -subj "/CN=Ledger test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -out ca.crt
  issue() { # name CN extensions
    newkey "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -sha256 \
      -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
  }
  issue server localhost "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
authorityKeyIdentifier=keyid"
  issue admin "$ADMIN_USER" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
authorityKeyIdentifier=keyid"
)

# --- the cluster ---------------------------------------------------------------------------------
as_server "$BIN/initdb" -D "$DATA" -A reject --no-instructions -E UTF8 --locale=C.UTF-8 \
  -U postgres >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; exit 1; }
install -m 600 "$PKI/server.key" "$DATA/server.key"
install -m 644 "$PKI/server.crt" "$DATA/server.crt"
install -m 644 "$PKI/ca.crt" "$DATA/ca.crt"
if [ "$RUN_AS" != "$(id -un)" ]; then
  chown "$RUN_AS" "$DATA/server.key" "$DATA/server.crt" "$DATA/ca.crt"
fi

# Superuser only through the private socket (peer); over TCP only TLS with a client certificate.
cat >"$DATA/pg_hba.conf" <<EOF
local   all   all                  peer map=local
hostssl all   all   127.0.0.1/32   cert
EOF
cat >"$DATA/pg_ident.conf" <<EOF
local   $RUN_AS   postgres
EOF
if [ "$RUN_AS" != "$(id -un)" ]; then chown "$RUN_AS" "$DATA/pg_hba.conf" "$DATA/pg_ident.conf"; fi

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
  else
    echo $((20000 + RANDOM % 40000))
  fi
}

PORT=""
for attempt in 1 2 3 4 5 6 7 8; do
  candidate=$(free_port)
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $candidate"
    echo "unix_socket_directories = '$SOCK'"
    echo "ssl = on"
    echo "ssl_cert_file = 'server.crt'"
    echo "ssl_key_file = 'server.key'"
    echo "ssl_ca_file = 'ca.crt'"
    echo "ssl_min_protocol_version = 'TLSv1.2'"
    echo "max_connections = 300"
    echo "shared_buffers = 256MB"
    echo "fsync = on"
    echo "log_min_messages = warning"
    echo "log_connections = off"
    for setting in ${LEDGER_PG_SETTINGS:-}; do
      echo "${setting%%=*} = '${setting#*=}'"
    done
  } >"$WORK/ledger.conf"
  # Each attempt rewrites the include file; postgresql.conf includes it once.
  if ! grep -q "include = 'ledger.conf'" "$DATA/postgresql.conf"; then
    echo "include = 'ledger.conf'" >>"$DATA/postgresql.conf"
  fi
  install -m 644 "$WORK/ledger.conf" "$DATA/ledger.conf"
  if [ "$RUN_AS" != "$(id -un)" ]; then chown "$RUN_AS" "$DATA/ledger.conf"; fi
  : >"$PGLOG"
  chmod 600 "$PGLOG"
  if [ "$RUN_AS" != "$(id -un)" ]; then chown "$RUN_AS" "$PGLOG"; fi
  if as_server "$BIN/pg_ctl" -D "$DATA" -l "$PGLOG" -w -t 60 start >/dev/null 2>&1; then
    STARTED=1
    PORT=$candidate
    break
  fi
  if grep -qiE "could not (bind|create listen)|address already in use" "$PGLOG"; then
    log "port $candidate was taken meanwhile; trying another (attempt $attempt)"
    continue
  fi
  cat "$PGLOG" >&2
  echo "PostgreSQL did not start (log above)" >&2
  exit 1
done
[ -n "$PORT" ] || { echo "no free port found for PostgreSQL" >&2; exit 1; }

for _ in $(seq 1 60); do
  if "$BIN/pg_isready" -q -h "$SOCK" -p "$PORT" -U postgres; then break; fi
  sleep 0.5
done
"$BIN/pg_isready" -q -h "$SOCK" -p "$PORT" -U postgres || { cat "$PGLOG" >&2; exit 1; }

psql_super() { as_server "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres -d postgres "$@"; }
psql_super -c "CREATE ROLE $ADMIN_USER LOGIN CREATEROLE CREATEDB" \
  -c "CREATE DATABASE ledger OWNER $ADMIN_USER" >/dev/null

export LEDGER_TEST_HOST=127.0.0.1
export LEDGER_TEST_PORT=$PORT
export LEDGER_TEST_DB=ledger
export LEDGER_TEST_CA="$PKI/ca.crt"
export LEDGER_TEST_CA_KEY="$PKI/ca.key"
export LEDGER_TEST_ADMIN_USER=$ADMIN_USER
export LEDGER_TEST_ADMIN_CERT="$PKI/admin.crt"
export LEDGER_TEST_ADMIN_KEY="$PKI/admin.key"
export LEDGER_TEST_SOCKET_DIR="$SOCK"
# To stop and start the server from a test (the desk must keep working while it is away), and to
# dump a database (the canary scan): the binaries, the cluster's directory and log, its OS user.
export LEDGER_TEST_PG_BIN="$BIN"
export LEDGER_TEST_PG_DATA="$DATA"
export LEDGER_TEST_PG_LOG="$PGLOG"
export LEDGER_TEST_PG_RUN_AS="$RUN_AS"
log "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (TLS, certificate authentication), cluster in $WORK"

# In the background and waited for, so that a signal to this script runs the cleanup at once
# (and stops the command) instead of after the command ends.
set +e
"$@" &
CHILD=$!
wait "$CHILD"
status=$?
CHILD=""
set -e
exit "$status"
