#!/usr/bin/env python
"""Merge two single-task adapters many ways and score each merge on both tasks (issue 14's merging target).

    python bench/merge_sweep.py --runs outputs/multitask_compare --limit 20     # after bench/multitask_compare.py

Reads the `demo` and `extract` adapters and the `multi` run's config (its two tasks and test sets) under --runs, as
`bench/multitask_compare.py` leaves them; merges the two adapters with every (method, weights, density) of --grid
(default: `GRID`) into --runs/sweep/, evaluates each merge on the first --limit test examples of each task with
`evaluation.compare_tasks`, and prints one table with each merge's share of the single-task adapters' scores
(`--runs/sweep/sweep.md`). The target: a merge keeping >= 90% of each single-task adapter's score on its own task.
"""
from __future__ import annotations
import argparse, json, sys, time
from pathlib import Path

GRID = [("cat", [1, 1], None), ("cat", [0.5, 0.5], None), ("cat", [0.3, 1], None), ("cat", [0.2, 1], None),
        ("cat", [0.5, 1], None), ("cat", [0.7, 1], None), ("linear", [1, 1], None), ("svd", [1, 1], None),
        ("ties", [1, 1], 0.2), ("ties", [1, 1], 0.5), ("ties", [1, 1], 0.8), ("ties", [0.5, 1.5], 0.5),
        ("dare_ties", [1, 1], 0.5), ("magnitude_prune", [1, 1], 0.5)]
MAIN = {"demo": "demo accuracy", "extract": "extract json_field_accuracy"}

def name(m, w, d): return f"{m} {'/'.join(map(str, w))}" + (f" d{d}" if d is not None else "")

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", required=True, help="directory holding demo/, extract/ and multi/ (multitask_compare)")
    ap.add_argument("--limit", type=int, default=20, help="test examples per task")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--grid", help='JSON list of [method, weights, density], e.g. [["cat",[0.3,1],null]]')
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads)
    from ft_nb.multitask import combine_adapters
    from ft_nb.evaluation import compare_tasks, to_markdown
    runs, out = Path(a.runs), Path(a.runs)/"sweep"
    grid = [tuple(g) for g in json.loads(a.grid)] if a.grid else GRID
    dirs, names = [runs/"demo", runs/"extract"], ["single_demo", "single_extract"]
    for i, (m, w, d) in enumerate(grid):
        p = out/f"m{i}"
        combine_adapters([runs/"demo", runs/"extract"], p, m, w, d, overwrite=True)
        dirs.append(p); names.append(name(m, w, d))
    t = time.time()
    tc = compare_tasks(str(runs/"multi"/"ft_nb_config.yaml"), dirs, include_base=False, limit=a.limit,
                       progress=False, names=names, out_dir=out)
    tab = tc.table[list(MAIN.values())].copy()
    for task, col in MAIN.items():
        tab[f"{task} kept"] = (100 * tab[col] / max(tab.loc[f"single_{task}", col], 1e-9)).round(0)
    tab["worst kept"] = tab[[f"{k} kept" for k in MAIN]].min(axis=1)
    md = (to_markdown(tab) + f"\n\n{a.limit} test examples per task; adapters from {runs}; evaluation "
          f"{time.time() - t:.0f} s. Target: worst kept >= 90%.\n")
    (out/"sweep.md").write_text(md)
    print(md)
    best = tab.drop(index=["single_demo", "single_extract"])["worst kept"]
    print(f"best merge: {best.idxmax()} keeps {best.max():.0f}% of the weaker task "
          f"({'meets' if best.max() >= 90 else 'misses'} the 90% target)")
    return 0

if __name__ == "__main__": sys.exit(main())
