#!/usr/bin/env bash
# Installs what building, running and testing Issuance Desk needs on Debian/Ubuntu,
# skipping whatever is already there. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

APT_PACKAGES=(
  build-essential pkg-config file curl
  libwebkit2gtk-4.1-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  xvfb xauth webkit2gtk-driver
  gnome-keyring dbus-x11 libsecret-tools libdbus-1-dev
  imagemagick x11-utils fonts-dejavu-core rpm
  softhsm2 postgresql openssl
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing system packages with apt: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "system packages: all present"
fi

if ! command -v cargo >/dev/null; then
  echo "Rust is missing: install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
if ! command -v npm >/dev/null; then
  echo "Node.js 20+ and npm are missing: install them (apt-get install nodejs npm), then run this again." >&2
  exit 1
fi

if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  log "installing UI packages (npm ci)"
  npm --prefix ui ci --no-audit --no-fund --loglevel=error
else
  log "UI packages: up to date"
fi

if [ "${1:-}" = "--with-test-tools" ] && ! command -v tauri-driver >/dev/null; then
  log "installing tauri-driver (cargo install, ~30 s)"
  cargo install tauri-driver --locked --quiet
fi
