"""Run ft_nb's notebooks as tests (nbdev's `test_nb`, slow cells included by default) and tests/ with pytest.

Each notebook and each tests/test_*.py file runs in its own process (two at a time by default, heaviest first); prints
one line per job and ends with 'N passed, N failed' (a notebook counts as one test, a pytest file as its own count).

A whole run also runs the notebooks whose code paths depend on the CPU's native bf16 a second time, as on the other
kind of CPU (`FT_NB_CPU_BF16`, read by `ft_nb.core.cpu_has_bf16`), so a run on either kind tests both paths;
`--other-cpu` adds them to a run of named notebooks, `--no-other-cpu` leaves them out. With FT_NB_CPU_BF16 set in
the environment, every job runs as that kind and no second pass is added.
Usage: run_tests.py [--fast] [--workers N] [--other-cpu | --no-other-cpu] [NOTEBOOK_OR_TEST_FILE ...]
"""
import argparse, os, re, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# heaviest first, so two workers finish together
ORDER = ["test_wheel", "04_training", "test_colab", "test_docs", "test_gpu_check", "test_faults", "test_multinode", "07a_serving", "05b_demo",
         "07_deployment", "07b_gguf", "10_cloud", "test_bad_inputs", "03_methods", "05_evaluation", "06_inference", "02_data",
         "test_commands", "03a_launch", "01_models"]

# The notebooks that take other paths on the other kind of CPU. As on a CPU without native bf16 ("0"): the demo's
# precision, and bitsandbytes' 4-bit inference kernels (ft_nb allows its bf16 ones only where the CPU has bf16). As on
# a CPU with it ("1", emulated where the CPU lacks it): the demo's precision only (bitsandbytes' kernels follow the
# instructions the CPU really has).
OTHER_CPU = {"0": ["00_core", "05b_demo", "01_models", "03_methods", "06_inference", "07_deployment"],
             "1": ["00_core", "05b_demo"]}
CPU_ENV = "FT_NB_CPU_BF16"

def _other_kind()->str:
    "'0' or '1': FT_NB_CPU_BF16 as on the kind of CPU this one is not."
    from ft_nb.core import cpu_has_bf16
    return "0" if cpu_has_bf16() else "1"

def _one(nb, flags):
    "Test one notebook in this process; exit status 0 on success."
    import inspect
    from nbdev.test import test_nb
    os.chdir(ROOT/"nbs")
    kw = dict(cell_timeout=1800) if "cell_timeout" in inspect.signature(test_nb).parameters else {}
    ok, _ = test_nb(nb, skip_flags=["slow"], force_flags=flags, basepath=ROOT, **kw)
    sys.exit(0 if ok else 1)

def _run(nb, flags, env=None):
    t = time.time()
    r = subprocess.run([sys.executable, __file__, "--one", nb] + (["--flags", ",".join(flags)] if flags else []),
                       capture_output=True, text=True, env=dict(os.environ, **env) if env else None)
    return nb, int(r.returncode==0), int(r.returncode!=0), time.time()-t, \
        (r.stdout[-4000:] + r.stderr[-8000:]) if r.returncode else ""

def _pytest(path, flags, env=None):
    "One tests/test_*.py file with pytest, in its own process: (passed, failed) as pytest counts them."
    t = time.time()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path], cwd=ROOT,
                       capture_output=True, text=True, env=dict(os.environ, **env) if env else None)
    out = r.stdout
    p = re.search(r"(\d+) passed", out); f_ = re.search(r"(\d+) failed", out); e = re.search(r"(\d+) errors?", out)
    passed, failed = int(p.group(1)) if p else 0, (int(f_.group(1)) if f_ else 0) + (int(e.group(1)) if e else 0)
    if r.returncode not in (0, 5) and not failed: failed = 1
    return path, passed, failed, time.time()-t, (out[-6000:] + r.stderr[-3000:]) if failed else ""

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebooks", nargs="*")
    ap.add_argument("--fast", action="store_true", help="skip the cells flagged slow")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--other-cpu", action=argparse.BooleanOptionalAction, default=None,
                    help="also run the bf16-dependent notebooks as on the other kind of CPU (default: in a whole run)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--flags", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one: return _one(a.one, [f for f in a.flags.split(",") if f])
    jobs = [Path(n).resolve() for n in a.notebooks]
    if not jobs:
        jobs = sorted(p for p in (ROOT/"nbs").glob("*.ipynb") if not p.name.startswith("_"))
        jobs += sorted((ROOT/"tests").glob("test_*.py"))
        if (ROOT/"tests"/"test_colab.py").exists():   # it runs the tutorial as Colab would (fresh kernel, installed
            jobs = [j for j in jobs if j.name != "08_tutorial.ipynb"]   # wheel): a second run of it here adds nothing
    rank = lambda p: next((i for i,o in enumerate(ORDER) if p.stem.startswith(o)), len(ORDER))
    jobs = [(j, None) for j in jobs]
    if (a.other_cpu if a.other_cpu is not None else not a.notebooks) and not os.environ.get(CPU_ENV):
        kind = _other_kind()
        jobs += [(ROOT/"nbs"/f"{n}.ipynb", {CPU_ENV: kind}) for n in OTHER_CPU[kind]]
        print(f"this CPU {'has' if kind == '0' else 'lacks'} native bf16: {len(OTHER_CPU[kind])} notebooks also run "
              f"with {CPU_ENV}={kind}", flush=True)
    jobs.sort(key=lambda j: rank(j[0]))   # the second passes take their place in the order too (heavy ones early)
    flags = [] if a.fast else ["slow"]
    passed = failed = 0; t0 = time.time()
    with ThreadPoolExecutor(a.workers) as ex:
        futs = {ex.submit(_pytest if j.suffix==".py" else _run, str(j), flags, env): env for j, env in jobs}
        for f in as_completed(futs):
            name, p_, f_, dt, log = f.result()
            env = futs[f]
            label = Path(name).name + (f" ({p_} passed, {f_} failed)" if name.endswith(".py") else "") + \
                (f" [{CPU_ENV}={env[CPU_ENV]}]" if env else "")
            print(f"{'PASS' if not f_ else 'FAIL'} {label:44} {dt:7.1f} s", flush=True)
            if log: print(log, flush=True)
            passed += p_; failed += f_
    print(f"total {time.time()-t0:.0f} s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

if __name__ == "__main__": main()
