#!/usr/bin/env bash
# Builds the .deb and .rpm (Tauri bundler), installs the .deb (dpkg -i when root, else unpacked
# with dpkg-deb -x into a temporary root), checks the installed app binary and its admin CLI
# (the `issuance-desk-admin` link the package creates: --version, config check with a machine
# configuration at the documented path, a typo → exit 3), removes the package and prints the
# package sizes.
#
#   scripts/test-installer.sh           release packages (what ships; a cold LTO build takes minutes)
#   scripts/test-installer.sh --debug   packages of the debug build (what scripts/test-all.sh runs:
#                                       same packaging and install path, no second full build)
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD
start=$SECONDS
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

fail() { echo "FAIL: $*" >&2; exit 1; }

echo "==> UI build"
npm --prefix ui run build

profile=release
tauri_flags=()
if [ "${1:-}" = "--debug" ]; then
  profile=debug
  tauri_flags=(--debug)
fi

echo "==> tauri build ${tauri_flags[*]} --bundles deb,rpm"
# The UI was just built: no second build from the bundler.
(cd src-tauri && npx --prefix ../ui tauri build --ci "${tauri_flags[@]}" --bundles deb,rpm \
  --config '{"build":{"beforeBuildCommand":"true"}}')

bundle_dir="$root_dir/target/$profile/bundle"
deb=$(ls -t "$bundle_dir"/deb/*.deb | head -1)
rpm=$(ls -t "$bundle_dir"/rpm/*.rpm | head -1)
[ -f "$deb" ] || fail "no .deb built"
[ -f "$rpm" ] || fail "no .rpm built"

echo "==> .deb recompressed with xz"
# Tauri's bundler writes data.tar.gz; xz is dpkg-deb's own default and every dpkg since 1.15
# reads it: the release package goes from 9.3 to 6.6 MB. Same files, modes, owner and scripts.
repack=$(mktemp -d)
dpkg-deb --raw-extract "$deb" "$repack/pkg"
dpkg-deb --root-owner-group -Zxz -z9 --build "$repack/pkg" "$repack/package.deb" >/dev/null
# mode, numeric owner, size and path of every file ("./x/" and "x" are the same path)
files_of() {
  dpkg-deb --fsys-tarfile "$1" | tar -tv --numeric-owner |
    awk '{sub(/^\.\//, "", $6); sub(/\/$/, "", $6); if ($6 != "" && $6 != ".") print $1, $2, $3, $6}' | sort
}
[ "$(files_of "$repack/package.deb")" = "$(files_of "$deb")" ] || fail "the xz .deb's files differ from the bundler's"
[ "$(dpkg-deb -I "$repack/package.deb" postinst)" = "$(dpkg-deb -I "$deb" postinst)" ] ||
  fail "the xz .deb's postinst differs from the bundler's"
mv "$repack/package.deb" "$deb"
rm -rf "$repack"
ar t "$deb" | grep -qx data.tar.xz || fail "the .deb is not xz-compressed"
package=$(dpkg-deb -f "$deb" Package)
# The file IT receives has the name the deployment guide gives (no spaces, no capitals;
# src-tauri/tauri.linux.conf.json), while the menu entry still reads "Issuance Desk".
expected_deb="issuance-desk_$(dpkg-deb -f "$deb" Version)_$(dpkg-deb -f "$deb" Architecture).deb"
[ "$(basename "$deb")" = "$expected_deb" ] || fail "the .deb is named '$(basename "$deb")', not $expected_deb (DEPLOYMENT.md)"
desktop_entry=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*.desktop')
grep -qx 'Name=Issuance Desk' <<<"$desktop_entry" || fail "the .deb's menu entry is not named 'Issuance Desk'"

echo "==> package contents"
# (listings are captured first: `grep -q` closing a pipe early would fail the pipeline)
deb_list=$(dpkg-deb -c "$deb")
grep -qE ' (\./)?usr/bin/issuance-desk$' <<<"$deb_list" || fail ".deb lacks /usr/bin/issuance-desk"
grep -E 'usr/bin/.' <<<"$deb_list"
postinst=$(dpkg-deb -I "$deb" postinst 2>/dev/null || true)
grep -q 'issuance-desk-admin' <<<"$postinst" || fail ".deb's postinst does not link issuance-desk-admin"
if command -v rpm >/dev/null; then
  rpm_list=$(rpm -qlp "$rpm" 2>/dev/null)
  grep -qx /usr/bin/issuance-desk <<<"$rpm_list" || fail ".rpm lacks /usr/bin/issuance-desk"
  rpm_scripts=$(rpm -qp --scripts "$rpm" 2>/dev/null)
  grep -q 'issuance-desk-admin' <<<"$rpm_scripts" || fail ".rpm's scripts do not link issuance-desk-admin"
else
  echo "(rpm not installed: the .rpm's file list is not checked)"
fi

work=$(mktemp -d)
config_dir=/etc/issuance-desk
backup=""
cleanup() {
  if [ "$(id -u)" -eq 0 ]; then
    dpkg -r "$package" >/dev/null 2>&1 || true
    rm -f "$config_dir/config.toml"
    if [ -n "$backup" ]; then mv "$backup" "$config_dir/config.toml"; fi
    rmdir "$config_dir" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

good_config='environment = "training"

[log]
level = "debug"
'
typo_config='environment = "training"

[log]
levle = "debug"
'
export ISSUANCE_DESK_LOG_DIR="$work/logs" ISSUANCE_DESK_USER_CONFIG=""

if [ "$(id -u)" -eq 0 ]; then
  echo "==> dpkg -i $(basename "$deb")"
  dpkg -i "$deb"
  prefix=""
  if [ -f "$config_dir/config.toml" ]; then
    backup="$work/config.toml.backup"; cp "$config_dir/config.toml" "$backup"
  fi
  mkdir -p "$config_dir"
  write_config() { printf '%s' "$1" >"$config_dir/config.toml"; }
  machine_config="$config_dir/config.toml"
else
  echo "==> dpkg-deb -x $(basename "$deb") (not root)"
  prefix="$work/root"
  dpkg-deb -x "$deb" "$prefix"
  mkdir -p "$prefix$config_dir"
  write_config() { printf '%s' "$1" >"$prefix$config_dir/config.toml"; }
  export ISSUANCE_DESK_MACHINE_CONFIG="$prefix$config_dir/config.toml"
  machine_config="$ISSUANCE_DESK_MACHINE_CONFIG"
fi
[ -x "$prefix/usr/bin/issuance-desk" ] || fail "the app binary is not installed at /usr/bin/issuance-desk"
if [ "$(id -u)" -eq 0 ]; then
  [ -L /usr/bin/issuance-desk-admin ] || fail "the package did not create the /usr/bin/issuance-desk-admin link"
  admin=/usr/bin/issuance-desk-admin
else
  # dpkg-deb -x runs no maintainer script: make the link the postinst would make.
  ln -s issuance-desk "$prefix/usr/bin/issuance-desk-admin"
  admin="$prefix/usr/bin/issuance-desk-admin"
fi
version=$("$admin" --version)
echo "$version"
[[ "$version" == "issuance-desk-admin "* ]] || fail "unexpected --version output"

write_config "$good_config"
out=$("$admin" config check) || fail "config check failed on a valid machine configuration"
echo "$out"
grep -q "$machine_config  (read)" <<<"$out" || fail "config check did not read $machine_config"

write_config "$typo_config"
set +e
out=$("$admin" config check 2>&1); code=$?
set -e
[ "$code" -eq 3 ] || fail "a typo must exit 3 (got $code)"
grep -q "levle" <<<"$out" || fail "the typo's key is not named"
echo "typo → exit 3, key named"

if [ "$(id -u)" -eq 0 ]; then
  echo "==> dpkg -r $package"
  dpkg -r "$package"
  [ ! -e /usr/bin/issuance-desk-admin ] || fail "dpkg -r left /usr/bin/issuance-desk-admin"
fi

echo "==> sizes"
printf '  %-50s %s bytes (%s)\n' "$(basename "$deb")" "$(stat -c %s "$deb")" "$(du -h "$deb" | cut -f1)"
printf '  %-50s %s bytes (%s)\n' "$(basename "$rpm")" "$(stat -c %s "$rpm")" "$(du -h "$rpm" | cut -f1)"
echo "installer test passed in $((SECONDS - start))s"
echo "1 passed, 0 failed"
