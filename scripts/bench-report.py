#!/usr/bin/env python3
"""The README's performance tables from one scripts/bench-all.sh run.

    python3 scripts/bench-report.py target/bench-all/<time>

Reads <dir>/results.txt: lines `tag|RESULT|name|n|median|p95|min|max` (tag = the repeat or the
pair; µs for the Rust/Python micro-benchmarks and the handshake, ms for the journal, submit and
start-up). Every cell is the median over the repeats with the repeats' min–max; a verdict
compares with the target of PRODUCT.md.
"""
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def load(directory):
    rows = defaultdict(dict)  # name -> tag -> fields
    for line in (Path(directory) / "results.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split("|")
        if len(parts) < 4 or parts[1] != "RESULT":
            continue
        tag, name, values = parts[0], parts[2], parts[3:]
        rows[name][tag] = values
    return rows


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


class Table:
    def __init__(self, rows):
        self.rows = rows

    def series(self, name, column):
        """The value of `column` (0 = n, 1 = median, 2 = p95, ...) in every repeat, tag order."""
        runs = self.rows.get(name, {})
        return [v for v in (number(runs[t][column]) for t in sorted(runs) if column < len(runs[t])) if v is not None]

    def cell(self, name, column=1, unit="µs", digits=0):
        values = self.series(name, column)
        if not values:
            return "not measured", None
        med = statistics.median(values)
        fmt = f"{{:,.{digits}f}}"
        if len(values) == 1:
            return f"{fmt.format(med)} {unit}", med
        return f"{fmt.format(med)} {unit} ({fmt.format(min(values))}–{fmt.format(max(values))})", med


def verdict(value, target, lower_is_better=True):
    if value is None:
        return "–"
    ok = value <= target if lower_is_better else value >= target
    return "✅" if ok else "❌"


def ordering(t, rows):
    print("### Ordering\n")
    print("| what | median (min–max of the repeats) | target |")
    print("|---|---|---|")
    rust, rust_med = t.cell("jwe_encrypt_card_data")
    py, _ = t.cell("jwcrypto_jwe")
    print(f"| JWE of the card data (ECDH-ES + A256GCM), Rust | {rust} | ≤ 100 µs {verdict(rust_med, 100)} |")
    print(f"| the same JWE in Python jwcrypto (pinned) | {py} | (reference) |")
    ratios = []
    for tag, values in rows.get("jwe_encrypt_card_data", {}).items():
        other = rows.get("jwcrypto_jwe", {}).get(tag)
        if tag.startswith("pair") and other:
            ratios.append(float(other[1]) / float(values[1]))
    if ratios:
        med = statistics.median(ratios)
        print(f"| jwcrypto / Rust, {len(ratios)} interleaved pairs | **{med:.2f}×** ({min(ratios):.2f}–{max(ratios):.2f}) "
              f"| ≥ 4.5× {verdict(med, 4.5, lower_is_better=False)} |")
    full, full_med = t.cell("per_order_validate_encrypt_sign_journal")
    print(f"| **per order: validate + encrypt + sign + journal** (as shipped: `mark_sending` fsynced) "
          f"| **{full}** | ≤ 1 ms {verdict(full_med, 1000)} |")
    for name, label in [
        ("per_order_app_work_no_journal", "validate + card rules + JWE + body, no journal"),
        ("per_order_journal_2_fsyncs", "the same, intent and sending fsynced (before)"),
        ("per_order_journal_no_fsync", "the same, no fsync (weakens order truth; reference)"),
        ("per_order_journal_in_memory_cpu", "validate + encrypt + journal in memory (the CPU cost)"),
        ("fdatasync_4k_append", "one 4 KiB append + fdatasync on this disk"),
        ("validate_request", "`validate_request` (the vendor schema's rules)"),
        ("es256_assertion_sign", "ES256 assertion signing (only when a token is fetched)"),
    ]:
        print(f"| {label} | {t.cell(name)[0]} | |")
    print(f"| one TLS 1.3 + mTLS handshake + request to the sandbox (aws-lc at opt-level 3) "
          f"| {t.cell('tls_mtls_handshake')[0]} | |")
    if "tls_mtls_handshake_opt_s" in rows:
        print(f"| the same with aws-lc built at opt-level \"s\" (before) | {t.cell('tls_mtls_handshake_opt_s')[0]} | |")
    submit = rows.get("submit_to_accepted", {})
    if submit:
        p95s = [float(v[2]) for _, v in sorted(submit.items())]
        meds = [float(v[1]) for _, v in sorted(submit.items())]
        n = next(iter(submit.values()))[0]
        print(f"| click on *Order the card* → \"Order accepted\", p95 of each run of {n} orders | "
              f"**{' / '.join(f'{p:.0f}' for p in p95s)} ms** (medians {' / '.join(f'{m:.0f}' for m in meds)} ms) "
              f"| ≤ 50 ms p95 each {verdict(max(p95s), 50)} |")
    for name in sorted(n for n in rows if n.startswith("sandbox_throughput ")):
        for values in rows[name].values():
            print(f"| sandbox throughput, {name[len('sandbox_throughput '):]} ({values[0]} orders) "
                  f"| {int(values[1]):,} orders/s | |")


def journal(t, rows):
    names = [n[len("journal.warm."):] for n in rows if n.startswith("journal.warm.")]
    if not names:
        return
    print("\n### Supervisor list, 1,000,000 orders (p95 ms; cold = files dropped from the page cache)\n")
    print("| query (page of 50) | warm p95 | cold p50 | cold p95 | target (p95, cold) |")
    print("|---|---|---|---|---|")
    for name in names:
        warm = t.series(f"journal.warm.{name}", 2)
        cold50 = t.series(f"journal.cold.{name}", 1)
        cold95 = t.series(f"journal.cold.{name}", 2)
        target = 30 if name.startswith("first page") else 100
        is_list = not name.startswith(("detail", "exceptions", "in_flight", "stats", "export"))
        check = f"≤ {target} ms {verdict(max(cold95) if cold95 else None, target)}" if is_list else ""
        fmt = lambda v: f"{v[0]:.2f}" if v else "–"  # noqa: E731
        print(f"| {name} | {fmt(warm)} | {fmt(cold50)} | {fmt(cold95)} | {check} |")
    writes = [n for n in rows if n.startswith("journal.write.")]
    if writes:
        print("\n| journal write | p50 ms | p95 ms |")
        print("|---|---|---|")
        for name in writes:
            print(f"| {name[len('journal.write.'):]} | {t.series(name, 1)[0]:.2f} | {t.series(name, 2)[0]:.2f} |")


def startup(t, rows):
    if "startup_pss_mib_ratio" not in rows:
        return
    print("\n### Start-up and memory (median, min–max over the interleaved runs)\n")
    print("| app | exec → UI ready | RSS, all processes | PSS, all processes |")
    print("|---|---|---|---|")
    for tag, label in (("bare", "bare Tauri window"), ("desk", "Issuance Desk (training)")):
        cells = [t.cell(f"startup_{k}_{tag}", 1, u)[0] for k, u in (("ready_ms", "ms"), ("rss_mib", "MiB"), ("pss_mib", "MiB"))]
        print(f"| {label} | " + " | ".join(cells) + " |")
    cells = []
    for key in ("ready_ms", "rss_mib", "pss_mib"):
        values = rows[f"startup_{key}_ratio"]["run1"]
        r, lo, hi = float(values[1]), float(values[3]), float(values[4])
        cells.append(f"**{r:.2f}** ({lo:.2f}–{hi:.2f}) {verdict(r, 1.2)}")
    print("| ratio desk / bare (pairs min–max) — target ≤ 1.2 | " + " | ".join(cells) + " |")
    kinds = sorted({n.split("_")[1] for n in rows if n.startswith("pss_") and n.endswith("_desk")})
    print("\n| PSS by process (MiB, median) | " + " | ".join(kinds) + " | total |")
    print("|---|" + "---|" * (len(kinds) + 1))
    for prefix, mode in (("", ""), ("nocomp_", ", compositing off")):
        for tag, label in (("bare", "bare Tauri window"), ("desk", "Issuance Desk")):
            if not t.series(f"{prefix}startup_pss_mib_{tag}", 1):
                continue
            cells = [f"{t.series(f'{prefix}pss_{k}_{tag}', 1)[0]:.1f}" if t.series(f"{prefix}pss_{k}_{tag}", 1) else "0"
                     for k in kinds]
            total = t.series(f"{prefix}startup_pss_mib_{tag}", 1)[0]
            print(f"| {label}{mode} | " + " | ".join(cells) + f" | {total:.1f} |")
    if "nocomp_startup_pss_mib_ratio" in rows:
        values = rows["nocomp_startup_pss_mib_ratio"]["run1"]
        print(f"\nPSS ratio with WebKit's compositing off in both: **{float(values[1]):.2f}** "
              f"({float(values[3]):.2f}–{float(values[4]):.2f})")


def installer(rows):
    deb = rows.get("deb_bytes", {}).get("run1")
    if deb:
        size = int(float(deb[1]))
        print(f"\n### Installer\n\n| `.deb` (release) | {size:,} bytes ({size / 1048576:.2f} MiB) "
              f"| ≤ 8 MB {verdict(size, 8_000_000)} |")


def main():
    rows = load(sys.argv[1])
    t = Table(rows)
    ordering(t, rows)
    journal(t, rows)
    startup(t, rows)
    installer(rows)


if __name__ == "__main__":
    main()
