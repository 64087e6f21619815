#!/usr/bin/env bash
# Click on "Order the card" → "Order accepted" shown, p95 over 50 orders, against the
# in-process training D1, under Xvfb, in the `measure` profile (the release build with the
# debug-only hooks on: a shipped build does not read the data directory or sandbox port it needs).
set -euo pipefail
cd "$(dirname "$0")/.."
npm --prefix ui run build --silent
cargo build --profile measure -p issuance-desk
export ISSUANCE_DESK_BINARY="$PWD/target/measure/issuance-desk"
exec scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1920x1080x24" \
  cargo run --release -q -p desk-e2e --example bench_submit -- "${1:-50}"
