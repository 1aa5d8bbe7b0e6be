#!/usr/bin/env bash
# Run every notebook as a test, slow cells included, plus tests/ if present; ends with 'N passed, N failed'.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -n "${VIRTUAL_ENV:-}" ] || . "$VENV/bin/activate"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning}"
exec python scripts/run_tests.py "$@"
