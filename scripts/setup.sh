#!/usr/bin/env bash
# Set up everything onemap needs on a Debian/Ubuntu machine; safe to run again.
#   scripts/setup.sh demo   what the demo needs (Python venv, PostgreSQL+PostGIS)
#   scripts/setup.sh test   that, plus GDAL tools, Chromium, CJK fonts and HAProxy for the tests
#   scripts/setup.sh bench  the tests' set-up, plus wrk (the load generator of bench/)
# System packages are installed with apt-get when missing and we are root (or
# have password-less sudo); otherwise the script names them and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"

say() { printf '\033[1m[onemap]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[onemap] %s\033[0m\n' "$*" >&2; exit 1; }

# --- Python >= 3.12 -----------------------------------------------------------
find_python() {
  local c v
  for c in python3.12 python3.13 python3.14 python3; do
    # Ask the interpreter for its real path: pyenv shims may resolve differently later.
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      "$c" -c 'import sys; print(sys.executable)'; return 0
    fi
  done
  local roots=()
  command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)")
  roots+=("${PYENV_ROOT:-}" "$HOME/.pyenv" /root/.pyenv /opt/pyenv)
  for r in "${roots[@]}"; do
    [ -n "$r" ] && [ -d "$r/versions" ] || continue
    for v in $(ls -1 "$r/versions" | sort -rV); do
      for c in "$r/versions/$v/bin/python3.1"[2-9] "$r/versions/$v/bin/python3"; do
        if [ -x "$c" ] && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
          echo "$c"; return 0
        fi
      done
    done
  done
  return 1
}

PY="$(find_python)" || die "没有找到 Python ≥ 3.12 — no Python 3.12 or newer found on PATH or under pyenv.
  Install one, e.g.:  apt-get install python3.12 python3.12-venv   (Ubuntu 24.04 / Debian 13)
                 or:  pyenv install 3.12 && pyenv global 3.12"

# --- system packages ------------------------------------------------------------
can_install() { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }
apt_install() {
  local pkgs=("$@")
  [ ${#pkgs[@]} -eq 0 ] && return 0
  if ! can_install; then
    die "缺少系统软件包 — missing system packages: ${pkgs[*]}
  Install them as root:  apt-get install -y ${pkgs[*]}   (or set DATABASE_URL to an existing PostGIS)"
  fi
  local SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  say "安装系统软件包 — installing: ${pkgs[*]}"
  if [ ! -f /var/lib/apt/periodic/onemap-updated ] || ! apt-cache policy "${pkgs[0]}" 2>/dev/null | grep -q Candidate; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    $SUDO mkdir -p /var/lib/apt/periodic && $SUDO touch /var/lib/apt/periodic/onemap-updated
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" >/dev/null
}
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

missing=()
if [ -z "${DATABASE_URL:-}" ]; then
  # The private cluster needs a PostgreSQL server and PostGIS for it.
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
  fi
  pgver="$(ls -1 /usr/lib/postgresql | sort -V | tail -n 1)"
  have_pkg "postgresql-$pgver-postgis-3" || missing+=("postgresql-$pgver-postgis-3")
fi
have_pkg libpq5 || missing+=(libpq5)
if [ "$mode" = test ] || [ "$mode" = bench ]; then
  command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  have_pkg fonts-noto-cjk || missing+=(fonts-noto-cjk)
  # the cluster script's test (primary + replica + 2 apps behind HAProxy) runs for real
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
fi
# The live feed's MQTT broker: the tests, the demo and the benchmarks start a private
# Mosquitto when none answers on the configured port.
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
if [ "$mode" = bench ]; then
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
fi
apt_install "${missing[@]+"${missing[@]}"}"

# --- virtual environment ----------------------------------------------------------
if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
  say ".venv 的 Python 版本过旧,重建 — .venv has an old Python, recreating it"
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  say "创建虚拟环境 — creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
# Reinstall only when pyproject.toml changed (a test install also serves the demo;
# benchmarks use the test install).
stamp=".venv/.onemap-installed"
digest="$(sha256sum pyproject.toml | cut -c1-16)"
venv_mode="$mode"; [ "$mode" = bench ] && venv_mode=test
installed() { [ -f "$stamp" ] && grep -qx -- "$digest-$1" "$stamp"; }
if ! installed "$venv_mode" && ! { [ "$venv_mode" = demo ] && installed test; }; then
  say "安装 onemap 及依赖 — installing onemap and its dependencies into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  if [ "$venv_mode" = test ]; then extras=".[test]"; else extras="."; fi
  .venv/bin/python -m pip install -q --disable-pip-version-check -e "$extras"
  echo "$digest-$venv_mode" > "$stamp"
fi
say "环境就绪 — environment ready ($(.venv/bin/python --version))"
