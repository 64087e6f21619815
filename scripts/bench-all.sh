#!/usr/bin/env bash
# Every benchmark behind the README's Performance section, in one run, and its tables.
#
#   scripts/bench-all.sh              everything (≈ 30–40 min on 2 cores, most of it builds)
#   scripts/bench-all.sh --no-deb     skip the release .deb (scripts/test-installer.sh)
#   scripts/bench-all.sh --quick      fewer repeats (a smoke run; its numbers are not the README's)
#
# The comparisons are interleaved (Rust JWE / Python jwcrypto in pairs, the app / a bare Tauri
# window run by run, the journal's fsync variants round by round) and the noisy ones repeated;
# the tables give the median of the repeats and their min–max. Raw logs and RESULT lines land
# in target/bench-all/<time>/; scripts/bench-report.py prints the tables from them.
# The JWE comparison runs jwcrypto in a venv with the pinned versions of
# crates/d1-client/benches/jwcrypto-requirements.txt, which also decrypts tokens made by the
# Rust code (the independent JOSE check). The machine is shared: look at the load printed first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TERM_COLOR=never

deb=1
pairs=7       # Rust/jwcrypto JWE pairs
repeats=3     # per-order bench, TLS handshake
submit_runs=3 # bench-submit runs of 200 orders
startup_runs=9
for arg in "$@"; do
  case "$arg" in
    --no-deb) deb=0 ;;
    --quick) pairs=3; repeats=1; submit_runs=1; startup_runs=3 ;;
    *) echo "unknown option $arg (see the header of $0)" >&2; exit 2 ;;
  esac
done

out="$root/target/bench-all/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
results="$out/results.txt"
: >"$results"
step() { echo; echo "==> $*  [load: $(cut -d' ' -f1-3 /proc/loadavg)]"; }
# Runs a command, keeps its output in $out/<log>, adds its RESULT lines (tagged) to $results.
collect() {
  local log=$1 tag=$2
  shift 2
  "$@" >"$out/$log" 2>&1 || { echo "FAILED: $* (see $out/$log)" >&2; tail -20 "$out/$log" >&2; exit 1; }
  grep '^RESULT|' "$out/$log" | sed "s/^/$tag|/" >>"$results" || true
}

step "machine"
{
  echo "date: $(date -Is)"; echo "cpus: $(nproc)"; echo "load: $(cat /proc/loadavg)"
  echo "rustc: $(rustc --version)"; echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
} | tee "$out/machine.txt"

step "builds (release): UI, benchmarks, the app, the bare window, the submit driver"
# Rebuilding the UI rewrites ui/dist, which relinks the app (minutes): only when it is stale.
if [ ! -f ui/dist/index.html ] || [ -n "$(find ui/src ui/index.html -newer ui/dist/index.html -print -quit)" ]; then
  npm --prefix ui run build --silent >"$out/build-ui.log" 2>&1
fi
cargo bench -p d1-client -p order-journal -p d1-sandbox --no-run >"$out/build-benches.log" 2>&1
# The apps in the `measure` profile: release, with the debug-only hooks the benchmarks need.
cargo build --profile measure -p issuance-desk -p bare-window >"$out/build-apps.log" 2>&1
cargo build --release -p desk-e2e --example bench_submit >"$out/build-e2e.log" 2>&1
bench_bin() { # path of a bench executable from the build log
  grep -o "target/release/deps/$1-[0-9a-f]*" "$out/build-benches.log" | tail -1
}
order_bin=$(bench_bin order)
tls_bin=$(bench_bin tls_handshake)
journal_bin=$(bench_bin journal_bench)
sandbox_bin=$(bench_bin throughput)
for bin in "$order_bin" "$tls_bin" "$journal_bin" "$sandbox_bin"; do
  [ -x "$bin" ] || { echo "bench executables not found (see $out/build-benches.log)" >&2; exit 1; }
done

step "Python jwcrypto (pinned versions, venv target/bench-venv)"
venv="$root/target/bench-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r crates/d1-client/benches/jwcrypto-requirements.txt
"$venv/bin/pip" freeze | tee "$out/python-versions.txt"
py="$venv/bin/python"
jwcrypto=crates/d1-client/benches/jwe_jwcrypto.py

step "the JWE decrypts in an independent JOSE library (jwcrypto)"
tokens=$(mktemp -d)
trap 'rm -rf "$tokens"' EXIT
"$order_bin" export-tokens "$tokens/tokens.json" 300 >"$out/export-tokens.log"
"$py" "$jwcrypto" --check "$tokens/tokens.json" | tee "$out/jwcrypto-check.log"
rm -rf "$tokens"

step "JWE: Rust vs jwcrypto, $pairs interleaved pairs of 3000 tokens"
for i in $(seq 1 "$pairs"); do
  if [ $((i % 2)) -eq 1 ]; then
    collect "jwe-rust-$i.log" "pair$i" "$order_bin" jwe 3000
    collect "jwe-python-$i.log" "pair$i" "$py" "$jwcrypto" 3000
  else
    collect "jwe-python-$i.log" "pair$i" "$py" "$jwcrypto" 3000
    collect "jwe-rust-$i.log" "pair$i" "$order_bin" jwe 3000
  fi
done

step "per-order work, journal included ($repeats runs)"
for i in $(seq 1 "$repeats"); do
  collect "order-$i.log" "run$i" "$order_bin"
done

step "one TLS 1.3 + mTLS handshake to the sandbox ($repeats runs)"
baseline="$root/target/bench-baseline/tls_handshake-aws-lc-opt-s"
for i in $(seq 1 "$repeats"); do
  collect "tls-$i.log" "run$i" "$tls_bin" 300
  if [ -x "$baseline" ]; then # the opt-level "s" build, interleaved, when one was kept
    # (a binary kept from before the change: it prints only its human line)
    "$baseline" 300 >"$out/tls-opt-s-$i.log" 2>&1
    sed -n 's/^tls_mtls_handshake: n=\([0-9]*\) median=\([0-9.]*\)µs p95=\([0-9.]*\)µs min=\([0-9.]*\)µs max=\([0-9.]*\)µs$/RESULT|tls_mtls_handshake_opt_s|\1|\2|\3|\4|\5/p' \
      "$out/tls-opt-s-$i.log" | sed "s/^/run$i|/" >>"$results"
  fi
done

step "sandbox throughput"
"$sandbox_bin" --bench >"$out/sandbox.log" 2>&1 # (without --bench it is a 50-order smoke pass)
sed -n 's/^\([^:]*\): \([0-9]*\) orders, .*: \([0-9]*\) orders\/s.*/RESULT|sandbox_throughput \1|\2|\3/p' "$out/sandbox.log" |
  sed 's/^/run1|/' >>"$results"

step "journal: 1,000,000 orders, warm and cold (generates the journal once, ≈ 1 min)"
collect "journal.log" "run1" "$journal_bin"

step "click → accepted, $submit_runs runs of 200 orders (measure-profile app, Xvfb)"
export ISSUANCE_DESK_BINARY="$root/target/measure/issuance-desk"
for i in $(seq 1 "$submit_runs"); do
  # A run that fails (WebDriver under heavy load) is reported, and the others still run.
  if scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1920x1080x24" \
    target/release/examples/bench_submit 200 >"$out/submit-$i.log" 2>&1; then
    grep '^RESULT|' "$out/submit-$i.log" | sed "s/^/run$i|/" >>"$results"
  else
    echo "FAILED: submit run $i (see $out/submit-$i.log)" | tee -a "$out/failures.txt" >&2
  fi
done

step "start-up and memory: the app and a bare Tauri window, $startup_runs interleaved runs"
collect "startup.log" "run1" python3 scripts/bench-startup.py --runs "$startup_runs" --no-build
step "the same with WebKit's compositing off in both (where the memory goes)"
collect "startup-nocomp.log" "run1" python3 scripts/bench-startup.py --runs 3 --no-build --no-compositing

if [ "$deb" = 1 ]; then
  step "the release .deb (scripts/test-installer.sh)"
  collect "installer.log" "run1" scripts/test-installer.sh
  deb_file=$(ls -t target/release/bundle/deb/*.deb | head -1)
  echo "RESULT|deb_bytes|1|$(stat -c %s "$deb_file")|-|-|-" | sed 's/^/run1|/' >>"$results"
fi

step "tables"
python3 scripts/bench-report.py "$out" | tee "$out/tables.md"
if [ -s "$out/failures.txt" ]; then echo; cat "$out/failures.txt"; fi
echo
echo "raw logs: $out"
