#!/usr/bin/env python
"""The real-task suite (issue 21): train each settings set on real public datasets, evaluate them.

    python bench/real_suite.py --out runs/real                        # every dataset and set
    python bench/real_suite.py --out runs/real --only banking77 --settings shipped --settings demo
    python bench/real_suite.py --out /tmp/smoke --only stackoverflow --model tiny-llama \\
        --train-limit 16 --test-limit 4 --max-steps 2                # a smoke run (seconds)

For each dataset (prepared by bench/real_tasks.py into OUT/data if missing, seed 0) and each
settings set of bench/real_suite.yaml, trains a LoRA adapter with ft_nb's Python API
(`LoRATrainer(config).train()`, into OUT/runs/DATASET/SET), then evaluates the base model and
every adapter together on the dataset's test split (`compare_models`, into
OUT/runs/DATASET/compare): accuracy of the generated answer, label validity (label_found) and the
accuracy of the scored label. Prints one table and writes it to OUT/suite.md and OUT/suite.json,
with the CPU, torch threads, the load average at start and end, and per dataset the paired sign
test of each set against `shipped` (or, without it, the first set). `--reuse` skips a run whose
directory holds a finished run (ft_nb_manifest.json) trained with the same config. How to read
it: bench/REAL_TASKS.md.
"""
from __future__ import annotations
import argparse, hashlib, json, math, os, platform, sys, time
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path: sys.path.insert(0, str(BENCH))
import real_tasks as rt   # noqa: E402

SETS_FILE = BENCH/"real_suite.yaml"
SEED = 0           # of the prepared subsets (bench/real_tasks.py)
SEQ_ROUND = 64     # max_seq_len: the longest example in tokens, rounded up to a multiple of this
ANSWER_ROOM = 16   # eval_max_new_tokens: the longest label in tokens plus room for a lead-in
METRICS = ("accuracy", "scored_accuracy", "label_found")
COLUMNS = ["dataset", "settings", "accuracy (%)", "scored accuracy (%)", "label found (%)",
           "train time (s)", "eval time (s)", "train examples", "steps"]

def datasets()->dict:
    "The suite's datasets: the classification tasks of bench/real_tasks.py (they have labels)."
    return {n: s for n, s in rt.SPECS.items() if s.task == "classification"}

# --- settings sets -----------------------------------------------------------------------

def read_sets(path:Path=SETS_FILE)->dict:
    "The suite file: {'base': {...}, 'suite': {...}, 'sets': {name: spec}}, checked."
    path = Path(path)
    try: d = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e: raise SystemExit(f"error: {path}: {e}") from None
    if not isinstance(d, dict) or not isinstance(d.get("sets"), dict) or not d["sets"]:
        raise SystemExit(f"error: {path}: expected a mapping with a non-empty 'sets' mapping")
    for k in ("base", "suite"):
        if not isinstance(d.get(k) or {}, dict):
            raise SystemExit(f"error: {path}: '{k}' must be a mapping of config fields")
    if "base" in d["sets"]:
        raise SystemExit(f"error: {path}: no set may be named 'base' (the base model's row)")
    return dict(base=d.get("base") or {}, suite=d.get("suite") or {}, sets=d["sets"], path=path)

def set_fields(name:str, spec, where:Path=SETS_FILE)->dict:
    "The config fields of settings set `name`: its from_config file's, from_demo's, then `fields`."
    from ft_nb.core import load_config
    from ft_nb.demo import DEMO_CONFIG
    if not isinstance(spec, dict) or set(spec) - {"from_config", "from_demo", "fields"}:
        raise SystemExit(f"error: {where}: set {name!r}: expected a mapping with from_config "
                         f"(a config file), from_demo (DEMO_CONFIG field names) and/or fields")
    out = {}
    if src := spec.get("from_config"):
        p = ROOT/src
        keys = yaml.safe_load(p.read_text(encoding="utf-8")) if p.is_file() else None
        if not isinstance(keys, dict):
            raise SystemExit(f"error: {where}: set {name!r}: {p} is not a config file")
        cfg = load_config(p).to_dict()      # the values as ft_nb reads them ("5e-4" -> 0.0005)
        out.update({k: cfg[k] for k in keys})
    if names := spec.get("from_demo"):
        if miss := [n for n in names if n not in DEMO_CONFIG]:
            raise SystemExit(f"error: {where}: set {name!r}: DEMO_CONFIG has no {miss}; it has "
                             f"{', '.join(DEMO_CONFIG)}")
        out.update({k: DEMO_CONFIG[k] for k in names})
    out.update(spec.get("fields") or {})
    return out

def check_sets(layers:dict, sets:list)->dict:
    "{name: fields} of `sets`, each checked as a config (base < set < suite) before any run."
    from ft_nb.core import load_config
    out = {}
    for s in sets:
        out[s] = set_fields(s, layers["sets"][s], layers["path"])
        try: load_config(run_config(layers, out[s], {})[0])
        except Exception as e:
            raise SystemExit(f"error: {layers['path']}: set {s!r}: {e}") from None
    return out

def chosen(names:list|None, known:dict, what:str)->list:
    "`names` checked against `known` (all of them when None), or SystemExit naming the known ones."
    if not names: return list(known)
    if bad := [n for n in names if n not in known]:
        raise SystemExit(f"error: unknown {what} {', '.join(map(repr, bad))}; "
                         f"known: {', '.join(known)}")
    return list(dict.fromkeys(names))

# --- per-dataset facts -------------------------------------------------------------------

def read_jsonl(path:Path)->list[dict]:
    return [json.loads(l) for l in Path(path).read_text(encoding="utf-8").splitlines() if l.strip()]

def sha256(path:Path)->str: return hashlib.sha256(Path(path).read_bytes()).hexdigest()

def round_up(n:int, k:int)->int: return k * math.ceil(n / k)

def measure(records:list[dict], labels:list[str], tokenizer)->dict:
    "max_seq_len (longest prompt+answer in tokens, rounded up) and eval_max_new_tokens."
    from ft_nb.data import to_messages, tokenize_messages
    longest = max(len(tokenize_messages(to_messages(r, "alpaca"), tokenizer)["input_ids"])
                  for r in records)
    label = max(len(tokenizer(l, add_special_tokens=False).input_ids) for l in labels)
    return dict(longest_example=longest, max_seq_len=round_up(longest + 1, SEQ_ROUND),
                longest_label=label, eval_max_new_tokens=label + ANSWER_ROOM)

def ensure_data(names:list, data:Path)->None:
    "Prepare (bench/real_tasks.py, seed 0) the datasets missing from `data`."
    missing = [n for n in names if not all((data/n/f).is_file()
                                           for f in ("train.jsonl", "test.jsonl", "labels.json"))]
    if missing and rt.main(["prepare", "--out", str(data), "--seed", str(SEED)]
                           + [a for n in missing for a in ("--only", n)]):
        raise SystemExit(f"error: could not prepare {', '.join(missing)} (see above)")

def train_file(data:Path, name:str, limit:int|None)->Path:
    "The dataset's training file, or a file of its first `limit` examples beside it."
    src = data/name/"train.jsonl"
    if not limit: return src
    dst = data/name/f"train.first{limit}.jsonl"
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)[:limit]
    if not dst.is_file() or dst.read_text(encoding="utf-8") != "".join(lines):
        from ft_nb.runs import atomic_write
        atomic_write(dst, "".join(lines))
    return dst

def run_config(layers:dict, fields:dict, ds:dict)->tuple[dict, list]:
    "The config dict of one run (base < set < suite < per dataset) and the set's replaced fields."
    fixed = {**layers["suite"], **ds}
    return {**layers["base"], **fields, **fixed}, sorted(k for k in fields if k in fixed
                                                        and fields[k] != fixed[k])

# --- one dataset -------------------------------------------------------------------------

def finished(run_dir:Path, cfg)->bool:
    "Whether `run_dir` holds a finished run (its manifest) trained with exactly `cfg`."
    from ft_nb.runs import MANIFEST
    from ft_nb.core import FTConfig
    try: m = json.loads((run_dir/MANIFEST).read_text())
    except (OSError, ValueError): return False
    js = lambda d: json.loads(json.dumps(d, default=str))
    got, want, dflt = m.get("config") or {}, js(cfg.to_dict()), js(FTConfig().to_dict())
    want.update((m.get("result") or {}).get("recipe") or {})    # what the run's recipe chose
    # a field ft_nb gained after the run was trained: the same run if the field is at its default
    want = {k: v for k, v in want.items() if k in got or v != dflt[k]}
    return got == want

def train_set(cfg, reuse:bool)->str:
    "Train one run (or skip a finished identical one with `reuse`): 'trained' or 'reused'."
    from ft_nb.training import LoRATrainer
    out = Path(cfg.output_dir)
    if reuse and finished(out, cfg):
        print(f"  reuse {out} (finished, same config)", flush=True)
        return "reused"
    print(f"  train {out}", flush=True)
    LoRATrainer(cfg).train()
    return "trained"

def run_facts(run_dir:Path)->dict:
    "Train time, steps and training examples of a finished run, from its manifest."
    from ft_nb.runs import MANIFEST
    m = json.loads((Path(run_dir)/MANIFEST).read_text())
    res, rep = m.get("result") or {}, m.get("data_report") or {}
    train = (rep.get("splits") or {}).get("train") or {}
    return dict(train_time_s=m.get("wall_time_s"), steps=res.get("steps"),
                train_examples=train.get("kept"))

def pct(v): return None if v is None else round(100 * v, 1)

def run_dataset(name:str, sets:dict, layers:dict, a, data:Path)->dict:
    "Train every set on dataset `name`, compare them with the base; rows, paired tests, facts."
    from ft_nb.core import load_config
    from ft_nb.evaluation import compare_models
    from ft_nb.models import load_tokenizer
    labels = json.loads((data/name/"labels.json").read_text(encoding="utf-8"))
    tok = load_tokenizer(a.model)
    m = measure(read_jsonl(data/name/"train.jsonl") + read_jsonl(data/name/"test.jsonl"),
                labels, tok)
    train = train_file(data, name, a.train_limit)
    ds = dict(model_name=a.model, dataset=str(train), val_dataset=None,
              test_dataset=str(data/name/"test.jsonl"), labels=labels,
              max_seq_len=m["max_seq_len"], eval_max_new_tokens=m["eval_max_new_tokens"],
              run_name=f"real_suite {name} train sha256 {sha256(train)[:16]}")
    if a.max_steps: ds["max_steps"] = a.max_steps
    runs, info = {}, {}
    for s, fields in sets.items():
        d, replaced = run_config(layers, fields, dict(ds, output_dir=str(a.out/"runs"/name/s)))
        try: cfg = load_config(d)
        except Exception as e: raise SystemExit(f"error: set {s!r} on {name}: {e}") from None
        print(f"{name} · {s}", flush=True)
        info[s] = dict(status=train_set(cfg, a.reuse), fields=fields, replaced=replaced)
        runs[s] = cfg
    first = next(iter(runs.values()))   # the evaluation fields are the suite's, the same in all
    base_cfg = load_config({**first.to_dict(), "output_dir": str(a.out/"runs"/name)})
    print(f"{name} · evaluate {'' if a.no_base else 'base and '}{', '.join(sets)}", flush=True)
    comp = compare_models(base_cfg, [c.output_dir for c in runs.values()], limit=a.test_limit,
                          include_base=not a.no_base,
                          out_dir=a.out/"runs"/name/"compare", val_loss=False, names=list(sets),
                          progress=False)
    rows = []
    for r in comp.results:
        facts = (run_facts(runs[r.name].output_dir) if r.name in runs
                 else dict(train_time_s=None, steps=None, train_examples=None))
        rows.append(dict(dataset=name, settings=r.name, n_test=len(r.prompts),
                         **{k: pct(r.metrics.get(k)) for k in METRICS},
                         eval_time_s=round(r.eval_time_s, 1), **facts))
    ref = "shipped" if "shipped" in sets else next(iter(sets))   # each set is tested against it
    paired = [dict(dataset=name, **vars(t), text=str(t))
              for s in sets if s != ref
              for k in ("scored_accuracy", "accuracy")
              for t in [comp.paired(ref, s, k)]]
    return dict(rows=rows, paired=paired, measured=m, runs=info,
                configs={s: c.to_dict() for s, c in runs.items()})

# --- the report --------------------------------------------------------------------------

def cpu_name()->str:
    try:
        for l in Path("/proc/cpuinfo").read_text().splitlines():
            if l.startswith("model name"): return l.split(":", 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()

def machine()->dict:
    import torch
    from ft_nb.core import cpu_has_bf16
    return dict(cpu=cpu_name(), cpu_bf16=cpu_has_bf16(), cpus=os.cpu_count(),
                torch_threads=torch.get_num_threads(), load_start=list(os.getloadavg()))

def cell(v)->str: return "—" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v)

def table_rows(rows:list)->list[list[str]]:
    keys = ["dataset", "settings", "accuracy", "scored_accuracy", "label_found", "train_time_s",
            "eval_time_s", "train_examples", "steps"]
    return [[cell(r.get(k)) for k in keys] for r in rows]

def markdown(rep:dict)->str:
    "The suite's report as markdown: the machine, the table, the paired tests."
    m = rep["machine"]
    load = lambda l: " / ".join(f"{x:.2f}" for x in l)
    lines = ["# Real-task suite", "",
             f"CPU: {m['cpu']} ({m['cpus']} cores, native bf16: "
             f"{'yes' if m['cpu_bf16'] else 'no'}), torch threads {m['torch_threads']}; "
             f"load average (1/5/15 min) at start {load(m['load_start'])}, at end "
             f"{load(m['load_end'])}. Model {rep['model']}; command: `{rep['command']}`.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(rep["rows"])]
    n = sorted({r["n_test"] for r in rep["rows"]})
    limits = [f"{k.replace('_', ' ')} {rep[k]}" for k in ("train_limit", "max_steps") if rep[k]]
    lines += ["", f"Test examples per dataset: {', '.join(map(str, n))}"
              + (f" (the first {rep['test_limit']})" if rep["test_limit"] else " (all)")
              + (f"; smoke run: {', '.join(limits)}" if limits else "") + "."]
    lines += ["", "Settings sets (bench/real_suite.yaml); replaced: the set's fields that the "
              "suite's own fields, the same for every set, replaced:", ""]
    for s, spec in rep["sets"].items():
        repl = sorted({f for d in rep["datasets"].values() for f in d["runs"][s]["replaced"]})
        lines.append(f"- {s}: {json.dumps(spec)}; replaced: {', '.join(repl) or 'none'}")
    if rep["paired"]:
        lines += ["", "Paired sign tests against `shipped`, or the first set without it (same test "
                  "examples):", ""]
        lines += [f"- {p['dataset']}: {p['text']}" for p in rep["paired"]]
    return "\n".join(lines) + "\n"

def write_report(rep:dict, out:Path)->None:
    from ft_nb.runs import atomic_write
    atomic_write(out/"suite.json", json.dumps(rep, indent=1, default=str) + "\n")
    atomic_write(out/"suite.md", markdown(rep))

# --- command line ------------------------------------------------------------------------

def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="where runs, data and the table go")
    ap.add_argument("--only", action="append", metavar="DATASET",
                    help=f"a dataset (repeatable; default every one: {', '.join(datasets())})")
    ap.add_argument("--settings", action="append", metavar="NAME",
                    help="a settings set of --sets-file (repeatable; default every one)")
    ap.add_argument("--sets-file", type=Path, default=SETS_FILE,
                    help=f"the settings sets (default {SETS_FILE.relative_to(ROOT)})")
    ap.add_argument("--data", type=Path,
                    help="prepared datasets (default OUT/data; prepared there when missing)")
    ap.add_argument("--model", default="smollm2-135m-instruct",
                    help="base model (default smollm2-135m-instruct; tiny-llama for a smoke run)")
    ap.add_argument("--test-limit", type=int, metavar="N",
                    help="evaluate the first N test examples")
    ap.add_argument("--train-limit", type=int, metavar="N",
                    help="train on the first N training examples (smoke runs)")
    ap.add_argument("--max-steps", type=int, metavar="N", help="override every set's length")
    ap.add_argument("--reuse", action="store_true",
                    help="skip a run whose directory holds a finished run of the same config")
    ap.add_argument("--no-base", action="store_true",
                    help="leave the base model out of the evaluation (its row measured before)")
    a = ap.parse_args(argv)
    for k in ("test_limit", "train_limit", "max_steps"):
        if getattr(a, k) is not None and getattr(a, k) < 1:
            ap.error(f"--{k.replace('_', '-')} must be at least 1, got {getattr(a, k)}")
    return a

def main(argv=None)->int:
    a = parse(argv)
    layers = read_sets(a.sets_file)
    names = chosen(a.only, datasets(), "dataset")
    sets = check_sets(layers, chosen(a.settings, layers["sets"], "settings set"))
    data = a.data or a.out/"data"
    rep = dict(command="python bench/real_suite.py " + " ".join(argv if argv is not None
                                                                else sys.argv[1:]),
               model=a.model, started_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               machine=machine(), test_limit=a.test_limit, train_limit=a.train_limit,
               max_steps=a.max_steps, sets={s: layers["sets"][s] for s in sets}, rows=[],
               paired=[], datasets={})
    ensure_data(names, data)
    for n in names:
        d = run_dataset(n, sets, layers, a, data)
        rep["rows"] += d.pop("rows")
        rep["paired"] += d.pop("paired")
        rep["datasets"][n] = d
        rep["machine"]["load_end"] = list(os.getloadavg())
        write_report(rep, a.out)   # after each dataset: a stopped suite keeps what it measured
    print("\n" + rt.table(table_rows(rep["rows"]), COLUMNS))
    for p in rep["paired"]: print(f"{p['dataset']}: {p['text']}")
    print(f"\nwrote {a.out/'suite.md'} and {a.out/'suite.json'}")
    return 0

if __name__ == "__main__": sys.exit(main())
