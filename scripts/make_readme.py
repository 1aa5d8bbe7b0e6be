"""Write README.md from nbs/index.ipynb's markdown cells (nbdev-readme needs Quarto; this keeps them the same).
Cell directives (`#| export`, which puts the intro into the package docstring) are dropped.
With --check, exit 1 if README.md differs."""
import json, sys
from pathlib import Path
root = Path(__file__).resolve().parent.parent

def _body(src):
    "A markdown cell's text without its leading `#|` directive lines."
    lines = src.splitlines()
    while lines and lines[0].startswith("#|"): lines.pop(0)
    return "\n".join(lines).strip("\n")

def readme()->str:
    nb = json.loads((root/"nbs/index.ipynb").read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    return "\n\n".join(_body(s) for s in cells).replace("\n> ", "\n\n> ", 1) + "\n"

if __name__ == "__main__":
    txt = readme()
    if "--check" in sys.argv:
        if (root/"README.md").read_text(encoding="utf-8") != txt:
            sys.exit("README.md is out of date: run python scripts/make_readme.py")
    else: (root/"README.md").write_text(txt, encoding="utf-8")
