#!/usr/bin/env bash
# Installs what is missing for `make run` (python) or `make test` (python + services + browser).
# System packages come from apt-get when run as root; otherwise the exact command is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-python}"

missing=()
need() { command -v "$1" >/dev/null 2>&1 || [ -x "$2" ] || missing+=("$3"); }
if [ "$what" = "test" ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || missing+=(postgresql)
  need redis-server /usr/bin/redis-server redis-server
  need chromium /usr/bin/chromium chromium
  need msgfmt /usr/bin/msgfmt gettext
  need openssl /usr/bin/openssl openssl
  [ -d /usr/share/fonts/truetype/noto ] || missing+=(fonts-noto-core)
fi
# WeasyPrint (printable PDFs) draws text with Pango.
case "$(ldconfig -p 2>/dev/null || true)" in
  *libpangoft2-1.0.so.0*) ;;
  *) missing+=(libpango-1.0-0 libpangoft2-1.0-0) ;;
esac
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing system packages. Run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

export UV_PYTHON_DOWNLOADS=never
if ! command -v uv >/dev/null 2>&1; then
  echo "Installing uv"
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
uv sync --frozen --quiet
