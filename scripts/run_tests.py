"""Run ft_nb's notebooks as tests (nbdev's `test_nb`, slow cells included by default) and tests/ with pytest.

Prints one line per notebook and ends with 'N passed, N failed'. Usage: run_tests.py [--fast] [--workers N] [NOTEBOOK ...]
"""
import argparse, os, re, subprocess, sys, time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# heaviest first, so two workers finish together
ORDER = ["08_tutorial", "05_evaluation", "04_training", "07_deployment", "06_inference", "03_methods", "02_data", "01_models"]

def _run(nb, flags):
    from nbdev.test import test_nb
    os.chdir(ROOT/"nbs")
    t = time.time()
    ok, _ = test_nb(nb, skip_flags=["slow"], force_flags=flags, basepath=ROOT, cell_timeout=1800)
    return nb, ok, time.time()-t

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebooks", nargs="*")
    ap.add_argument("--fast", action="store_true", help="skip the cells flagged slow")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    nbs = [Path(n).resolve() for n in a.notebooks] or sorted(p for p in (ROOT/"nbs").glob("*.ipynb") if not p.name.startswith("_"))
    rank = lambda p: next((i for i,o in enumerate(ORDER) if p.stem.startswith(o)), len(ORDER))
    nbs.sort(key=rank)
    flags = [] if a.fast else ["slow"]
    passed = failed = 0; t0 = time.time()
    with ProcessPoolExecutor(a.workers) as ex:
        futs = [ex.submit(_run, str(nb), flags) for nb in nbs]
        for f in as_completed(futs):
            nb, ok, dt = f.result()
            print(f"{'PASS' if ok else 'FAIL'} {Path(nb).name:32} {dt:7.1f} s", flush=True)
            passed += ok; failed += not ok
    tests = ROOT/"tests"
    if tests.is_dir() and any(tests.glob("test_*.py")):
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)], cwd=ROOT,
                           capture_output=True, text=True)
        print(r.stdout[-3000:], r.stderr[-2000:])
        m = re.search(r"(\d+) passed", r.stdout); passed += int(m.group(1)) if m else 0
        m = re.search(r"(\d+) failed", r.stdout); failed += int(m.group(1)) if m else 0
        m = re.search(r"(\d+) error", r.stdout); failed += int(m.group(1)) if m else 0
        if r.returncode not in (0, 5) and not m and "failed" not in r.stdout: failed += 1
    print(f"total {time.time()-t0:.0f} s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

if __name__ == "__main__": main()
