#!/usr/bin/env bash
# One-time (idempotent) set-up on a fresh Debian machine with Python 3.11, as root:
# system packages for the simulators, a virtual environment in .venv, and spikeforge in it.
# Re-running is cheap: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

log() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }

# -- system packages: Icarus Verilog; a C++ toolchain, make and perl for Verilator; data ---
missing=()
command -v iverilog >/dev/null 2>&1 || missing+=(iverilog)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v perl >/dev/null 2>&1 || missing+=(perl)
# the full Fashion-MNIST (30 MB), one of the data sets spikeforge trains on
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
if ((${#missing[@]})); then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    log "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# -- Python environment -------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
    log "creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.spikeforge-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing Python packages (torch first, pinned: any other spec pulls a CUDA build)"
    .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
    .venv/bin/python -m pip install -q torch==2.13.0 2>&1 | grep -v '^WARNING: Location' || true
    .venv/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
    .venv/bin/python -c "import spikeforge, torch, amaranth, cocotb" \
        || { log "installation failed"; exit 1; }
    echo "$want" > "$stamp"
fi
