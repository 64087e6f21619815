#!/usr/bin/env bash
# Builds and starts Issuance Desk. With no configuration it runs in training mode:
# an in-process D1 sandbox, generated keys, no real card can be made.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "[run] building the UI and the app (the first build takes a few minutes)"
npm --prefix ui run build --silent
# A debug build: quick to make, and it uses the development identifier, so trying
# the app never touches a real profile's data or keychain entries.
cargo build -p issuance-desk
exec target/debug/issuance-desk "$@"
