"""Issue 16.2, the notebooks as Colab users get them: every user-facing notebook has the "Open in Colab" badge and the
setup cell that `scripts/colab.py` writes (install ft_nb unless importable, report the GPU) - these fail until
`python scripts/colab.py` has been run on the notebooks - and the tutorial runs the way Colab runs it: a fresh kernel in
an environment holding only the installed wheel (tests/test_wheel.py's venv, not the repository on `sys.path`), in a
directory outside the repository, every cell in order (nbdev's `#| slow` and `#| eval: false` mean nothing to Colab),
with the CPU settings the tutorial picks when there is no GPU.
"""
import json, os, shutil, sys, tempfile
from pathlib import Path
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_wheel import ROOT, wheel_env, clean_env   # noqa: E402
sys.path.insert(0, str(ROOT/"scripts"))
import colab   # noqa: E402

def _src(c): return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]

def _cells(nb:Path): return json.loads(nb.read_text(encoding="utf-8"))["cells"]

def _working(c)->bool:
    "A code cell that does something (not only nbdev directives and comments)."
    return c["cell_type"] == "code" and any(l.strip() and not l.lstrip().startswith("#") for l in _src(c).splitlines())

@pytest.mark.parametrize("nb", colab.user_notebooks(), ids=lambda p: p.stem)
def test_badge_and_setup_cell(nb):
    "The badge opens this notebook from GitHub; the setup cell is the first working code cell and is current."
    cells = _cells(nb)
    hint = "run `python scripts/colab.py` (it adds the Colab badge and setup cell to every user-facing notebook)"
    badges = [c for c in cells if colab._is_badge(c)]
    assert len(badges) == 1, f"{nb.name}: {len(badges)} Open in Colab badges; {hint}"
    assert colab.colab_url(nb) in _src(badges[0]), f"{nb.name}: the badge links elsewhere; {hint}"
    first = next(c for c in cells if _working(c))
    assert colab._is_setup(first) and _src(first) == colab.setup_source(nb), \
        f"{nb.name}: the first working code cell is not the current Colab setup cell; {hint}"

def test_colab_script_idempotent(tmp_path):
    "Running scripts/colab.py twice on a notebook gives the same notebook; a hand-written install cell is replaced."
    nb = tmp_path/"08_tutorial.ipynb"
    shutil.copy(ROOT/"nbs"/"08_tutorial.ipynb", nb)
    colab.process(nb); once = nb.read_text()
    assert not colab.process(nb) and nb.read_text() == once
    assert not [c for c in _cells(nb) if c["cell_type"] == "code" and colab._old_install(_src(c))]
    assert sum(colab._is_setup(c) for c in _cells(nb)) == 1

def _kernel(env, d:Path)->str:
    "A kernelspec that starts the wheel venv's python with only the wheel's world on its paths."
    kenv = clean_env()
    kenv.update(PATH=os.pathsep.join([str(env["bin"]), kenv["PATH"]]), VIRTUAL_ENV=str(env["bin"].parent),
                PYTHONWARNINGS="ignore::DeprecationWarning")
    k = d/"jupyter"/"kernels"/"ft_nb_wheel"; k.mkdir(parents=True)
    (k/"kernel.json").write_text(json.dumps(dict(
        argv=[str(env["python"]), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name="ft_nb wheel", language="python", env=kenv)))
    return "ft_nb_wheel"

PROBE = """import sys, ft_nb
print("FT_NB_FROM", ft_nb.__file__)
print("REPO_ON_PATH", any(p and p.startswith(%r) for p in sys.path))""" % str(ROOT)

def test_tutorial_like_colab(monkeypatch):
    "nbs/08_tutorial.ipynb, every cell in order, in a fresh kernel of the wheel venv, outside the repository."
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    env = wheel_env()
    d = Path(tempfile.mkdtemp(prefix="ft_nb_colab_"))
    try:
        monkeypatch.setenv("JUPYTER_PATH", str(d/"jupyter"))
        name = _kernel(env, d)
        nb = nbformat.read(ROOT/"nbs"/"08_tutorial.ipynb", as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(PROBE))
        client = NotebookClient(nb, timeout=1800, kernel_name=name, resources={"metadata": {"path": str(d)}})
        try: client.execute()
        except CellExecutionError as e: pytest.fail(f"a tutorial cell failed in the Colab-style run:\n{str(e)[-4000:]}")
        out = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
        assert "site-packages" in out.split("FT_NB_FROM", 1)[1].splitlines()[0], out[-2000:]
        assert "REPO_ON_PATH False" in out
        if any(colab._is_setup(c) for c in nb.cells):   # once scripts/colab.py has run: the setup cell reports the CPU
            assert "No GPU: the CPU settings apply" in out
    finally:
        shutil.rmtree(d, ignore_errors=True)
