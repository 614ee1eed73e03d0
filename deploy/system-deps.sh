#!/usr/bin/env bash
# Installs the OS packages the test suite and benchmarks run for real: PostgreSQL and
# Redis servers, wrk, nginx (the tests check deploy/nginx/hub.conf with `nginx -t`), and
# Debian's Chromium (the screen tests drive it; Playwright never
# downloads a browser) with a CJK font so the screenshots show Chinese, and nodejs for the
# pages' unit tests (tests/js), and Prometheus for `promtool check rules` on
# deploy/prometheus/alerts.yml (tests/test_observability.py). Only what is
# missing is installed; nothing happens when all is there.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-microhei)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "== installing OS packages: ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "need root (or sudo) to install: ${need[*]}" >&2; exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# Debian starts a package's service as it installs it (nginx on 0.0.0.0:80); a policy-rc.d
# that says no keeps every server down: the tests start their own, on loopback.
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
[ -z "$policy" ] || $SUDO rm -f "$policy"
# The Debian package starts a cluster of its own; the tests start their own throwaway ones.
if command -v pg_lsclusters >/dev/null 2>&1; then
  $SUDO service postgresql stop >/dev/null 2>&1 || true
fi
if [ -n "$(pgrep -x prometheus || true)" ]; then
  $SUDO service prometheus stop >/dev/null 2>&1 || true
fi
if [ -n "$(pgrep -x redis-server || true)" ]; then
  $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
echo "== OS packages ready"
