"""Write README.md from nbs/index.ipynb's markdown cells (nbdev-readme needs Quarto; this keeps them the same).
With --check, exit 1 if README.md differs."""
import json, sys
from pathlib import Path
root = Path(__file__).resolve().parent.parent
nb = json.loads((root/"nbs/index.ipynb").read_text())
txt = "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"]=="markdown").replace("\n> ", "\n\n> ", 1) + "\n"
if "--check" in sys.argv:
    if (root/"README.md").read_text() != txt: sys.exit("README.md is out of date: run python scripts/make_readme.py")
else: (root/"README.md").write_text(txt)
