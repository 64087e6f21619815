#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring
# (a real Secret Service), and a private data directory. Used by the tests.
set -euo pipefail
if [ -z "${ISSUANCE_DESK_IN_KEYRING_SESSION:-}" ]; then
  XDG_DATA_HOME=$(mktemp -d)
  XDG_RUNTIME_DIR=$(mktemp -d)
  chmod 700 "$XDG_RUNTIME_DIR"
  export XDG_DATA_HOME XDG_RUNTIME_DIR
  export ISSUANCE_DESK_IN_KEYRING_SESSION=1
  export KEYRING_PASSWORD="${KEYRING_PASSWORD:-test-keyring-password}"
  exec dbus-run-session -- "$0" "$@"
fi
eval "$(printf %s "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
exec "$@"
