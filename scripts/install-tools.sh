#!/usr/bin/env bash
# Installs the system tools the deploy checks need (promtool from Debian's prometheus, kubectl)
# when they are missing. As root with apt-get it installs them; otherwise it says what to install.
set -euo pipefail
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v kubectl >/dev/null || missing+=(kubectl)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing: ${missing[*]} — install them (Debian: apt-get install ${missing[*]}) to run the deploy checks" >&2
  exit 1
fi
