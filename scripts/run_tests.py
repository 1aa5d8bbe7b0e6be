"""Run ft_nb's notebooks as tests (nbdev's `test_nb`, slow cells included by default) and tests/ with pytest.

Each notebook runs in its own process (two at a time by default); prints one line per notebook and ends with
'N passed, N failed'. Usage: run_tests.py [--fast] [--workers N] [NOTEBOOK ...]
"""
import argparse, os, re, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# heaviest first, so two workers finish together
ORDER = ["05_evaluation", "08_tutorial", "04_training", "07_deployment", "06_inference", "03_methods", "02_data", "01_models"]

def _one(nb, flags):
    "Test one notebook in this process; exit status 0 on success."
    import inspect
    from nbdev.test import test_nb
    os.chdir(ROOT/"nbs")
    kw = dict(cell_timeout=1800) if "cell_timeout" in inspect.signature(test_nb).parameters else {}
    ok, _ = test_nb(nb, skip_flags=["slow"], force_flags=flags, basepath=ROOT, **kw)
    sys.exit(0 if ok else 1)

def _run(nb, flags):
    t = time.time()
    r = subprocess.run([sys.executable, __file__, "--one", nb] + (["--flags", ",".join(flags)] if flags else []),
                       capture_output=True, text=True)
    return nb, r.returncode==0, time.time()-t, (r.stdout[-4000:] + r.stderr[-8000:]) if r.returncode else ""

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebooks", nargs="*")
    ap.add_argument("--fast", action="store_true", help="skip the cells flagged slow")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--flags", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one: return _one(a.one, [f for f in a.flags.split(",") if f])
    nbs = [Path(n).resolve() for n in a.notebooks] or sorted(p for p in (ROOT/"nbs").glob("*.ipynb") if not p.name.startswith("_"))
    rank = lambda p: next((i for i,o in enumerate(ORDER) if p.stem.startswith(o)), len(ORDER))
    nbs.sort(key=rank)
    flags = [] if a.fast else ["slow"]
    passed = failed = 0; t0 = time.time()
    with ThreadPoolExecutor(a.workers) as ex:
        futs = [ex.submit(_run, str(nb), flags) for nb in nbs]
        for f in as_completed(futs):
            nb, ok, dt, log = f.result()
            print(f"{'PASS' if ok else 'FAIL'} {Path(nb).name:32} {dt:7.1f} s", flush=True)
            if log: print(log, flush=True)
            passed += ok; failed += not ok
    tests = ROOT/"tests"
    if tests.is_dir() and any(tests.glob("test_*.py")):
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)], cwd=ROOT,
                           capture_output=True, text=True)
        print(r.stdout[-3000:], r.stderr[-2000:])
        p = re.search(r"(\d+) passed", r.stdout); f_ = re.search(r"(\d+) failed", r.stdout); e = re.search(r"(\d+) errors?", r.stdout)
        passed += int(p.group(1)) if p else 0
        failed += (int(f_.group(1)) if f_ else 0) + (int(e.group(1)) if e else 0)
        if r.returncode not in (0, 5) and not (f_ or e): failed += 1
    print(f"total {time.time()-t0:.0f} s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

if __name__ == "__main__": main()
