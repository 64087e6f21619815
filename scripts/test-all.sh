#!/usr/bin/env bash
# Runs every test of Issuance Desk, in order, and prints a summary.
# Installs what is missing first (apt packages, npm packages, tauri-driver).
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

scripts/setup.sh --with-test-tools || { echo "setup failed"; exit 1; }
export PATH="$HOME/.cargo/bin:$PATH"

names=()
results=()
durations=()
failed=0

# A step that hangs fails after STEP_LIMIT (the whole run takes ~20 min on 2 cores), so the
# other steps and the summary still run inside CI's 90 minutes, and the log shows where it hung.
STEP_LIMIT=${STEP_LIMIT:-40m}
# `timeout` runs a step in a process group of its own, which a Ctrl-C at the terminal does not
# reach: an interrupt or a stop of this script ends the running step's whole group itself.
STEP_PID=""
stop_step() {
  if [ -n "$STEP_PID" ]; then
    kill -TERM -- "-$STEP_PID" 2>/dev/null || kill -TERM "$STEP_PID" 2>/dev/null
    wait "$STEP_PID" 2>/dev/null
  fi
  exit "$1"
}
trap 'stop_step 130' INT
trap 'stop_step 143' TERM

# STEP_LIMIT in seconds (timeout's syntax: a number with an optional s, m, h or d).
limit_seconds() {
  local n=${STEP_LIMIT%[smhd]}
  case "$STEP_LIMIT" in
    *m) echo $((n * 60)) ;;
    *h) echo $((n * 3600)) ;;
    *d) echo $((n * 86400)) ;;
    *) echo "$n" ;;
  esac
}

step() {
  local name=$1
  shift
  printf '\n\033[1m==> %s\033[0m\n' "$name"
  local start=$SECONDS
  timeout --kill-after=1m "$STEP_LIMIT" "$@" &
  STEP_PID=$!
  wait "$STEP_PID"
  local status=$?
  STEP_PID=""
  # 124: timeout stopped the step; 137: it had to kill it — or something else (the OOM
  # killer) did, which the time taken tells apart.
  if [ "$status" -eq 124 ] || { [ "$status" -eq 137 ] && [ $((SECONDS - start)) -ge "$(limit_seconds)" ]; }; then
    echo "!! '$name' did not finish within $STEP_LIMIT and was stopped: it hung where its log ends"
  elif [ "$status" -eq 137 ]; then
    echo "!! '$name' was killed (SIGKILL) after $((SECONDS - start)) s: out of memory? (see dmesg)"
  fi
  if [ "$status" -eq 0 ]; then results+=("ok"); else results+=("FAILED"); failed=$((failed + 1)); fi
  names+=("$name")
  durations+=("$((SECONDS - start))")
}

step "UI build" npm --prefix ui run build
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
step "crate tests" scripts/with-keyring.sh cargo test --workspace --locked --exclude desk-e2e --exclude branch-ledger
step "release build ignores test hooks" cargo test --release --locked -p desk-config --test release_hooks
step "ledger (PostgreSQL)" scripts/test-ledger.sh
step "svelte-check" npm --prefix ui run check
step "UI lint" npm --prefix ui run lint
step "UI tests (vitest)" npm --prefix ui test
step "end-to-end (WebDriver, Xvfb)" scripts/e2e.sh
step "installer (.deb/.rpm, install, admin CLI)" scripts/test-installer.sh --debug

printf '\n\033[1mSummary\033[0m\n'
for i in "${!names[@]}"; do
  printf '  %-32s %-7s %4ss\n' "${names[$i]}" "${results[$i]}" "${durations[$i]}"
done
printf '  total %ss\n' "$SECONDS"
echo "steps: $(( ${#names[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
