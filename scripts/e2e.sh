#!/usr/bin/env bash
# Builds the real app binary and drives it through WebDriver (tauri-driver +
# WebKitWebDriver) on a virtual X display, with a real unlocked keyring and a throwaway
# PostgreSQL cluster for the branch-ledger journeys.
set -euo pipefail
cd "$(dirname "$0")/.."
# The binary embeds ui/dist: build it first, so the journeys always see the current UI.
npm --prefix ui run build --silent
cargo build -p issuance-desk -p d1-sandbox --locked
export ISSUANCE_DESK_BINARY="$PWD/target/debug/issuance-desk"
exec scripts/with-postgres.sh scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1920x1080x24" \
  cargo test -p desk-e2e --locked -- --test-threads=1
