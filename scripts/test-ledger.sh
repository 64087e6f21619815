#!/usr/bin/env bash
# The branch ledger's tests, against a throwaway PostgreSQL cluster (TLS, certificate
# authentication) that scripts/with-postgres.sh starts and removes: the branch-ledger crate and
# the `issuance-desk-admin ledger …` commands (and `doctor` with the desk's certificate from a real
# keychain), and the counter workflows of two desks of a branch (order-workflow).
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/with-postgres.sh scripts/with-keyring.sh bash -c '
  set -e
  cargo test -p branch-ledger --locked "$@"
  cargo test -p desk-admin --features ledger-tests --test ledger --locked "$@"
  cargo test -p order-workflow --features ledger-tests --test counter_ledger --locked "$@"
' bash "$@"
