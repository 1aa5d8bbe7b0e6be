#!/usr/bin/env python
"""Multi-task training vs one adapter per task vs merged adapters, on the two bundled tasks (issue 14).

    nice python bench/multitask_compare.py           # SmolLM2-135M-Instruct on the CPU (~1 h on a busy 2-core machine)
    python bench/multitask_compare.py --model tiny-llama --steps 2 --limit 3   # seconds, for checking the script

Trains on the built-in model: a LoRA adapter on support-ticket classification (`demo`), one on JSON field extraction
(`extract`), one multi-task adapter on both (as many steps as the two together, weights 1:1), and merges the two
single-task adapters with `cat` (exact sum of their updates) and `ties` (density 0.5). Then evaluates the base model
and every adapter on both test sets (`ft_nb.evaluation.compare_tasks`, greedy decoding, the first --limit examples of
each) and writes one table (markdown) and one chart: --out/multitask_compare.md and .png, and --png.
"""
from __future__ import annotations
import argparse, json, os, shutil, sys, time
from pathlib import Path

def _val_files(out:Path, n:int)->dict:
    "The first `n` validation examples of each bundled task as a file (the validation loss is a side show here)."
    from ft_nb.data import load_records, write_jsonl
    return {t: str(write_jsonl(load_records(f"{t}:val")[:n], out/f"{t}_val.jsonl")) for t in ("demo", "extract")}

def _configs(model:str, steps:int, out:Path, lr:float, n_val:int)->dict:
    "The training configs: one per task and the multi-task one."
    val = _val_files(out, n_val)
    from ft_nb.core import load_config
    from ft_nb.demo import DEMO_CONFIG, demo_precision
    # the demo's study-chosen LoRA (r=32, alpha 32, every linear layer), bf16 where the CPU has it
    lora = {k: DEMO_CONFIG[k] for k in ("lora_r", "lora_alpha", "lora_dropout", "target_modules")}
    common = dict(model_name=model, method="lora", **lora, learning_rate=lr, per_device_batch_size=8, max_seq_len=256,
                  logging_steps=5, eval_on_start=False, eval_batch_size=16, eval_max_new_tokens=40, device="cpu",
                  seed=0)
    common["precision"] = demo_precision(load_config(common))
    demo = dict(common, dataset="demo", val_dataset=val["demo"], max_steps=steps, output_dir=str(out/"demo"))
    extract = dict(common, dataset="extract", val_dataset=val["extract"], max_steps=steps,
                   output_dir=str(out/"extract"), metrics=["json_valid", "json_field_accuracy"])
    tasks = [dict(name=t, dataset=t, val_dataset=val[t]) for t in ("demo", "extract")]
    multi = dict(common, tasks=tasks, max_steps=2 * steps, output_dir=str(out/"multi"))
    return dict(demo=demo, extract=extract, multi=multi)

def _targets(t, singles:dict, merged:list)->list[str]:
    "The issue's two targets, checked on the table: lines of text."
    lines = []
    for task, col in singles.items():
        s = t.loc[f"single_{task}", col]; m = t.loc["multi", col]
        lines.append(f"- multi-task on {task} ({col}): {m:.1f} vs single-task {s:.1f} → {m - s:+.1f} points "
                     f"({'within' if m >= s - 2 else 'NOT within'} 2 points)")
    best = max(merged, key=lambda n: min(t.loc[n, c] / max(t.loc[f"single_{k}", c], 1e-9) for k, c in singles.items()))
    for task, col in singles.items():
        s, m = t.loc[f"single_{task}", col], t.loc[best, col]
        lines.append(f"- best merged ({best}) on {task}: {m:.1f} = {100 * m / max(s, 1e-9):.0f}% of single-task "
                     f"{s:.1f} "
                     f"({'meets' if m >= 0.9 * s else 'misses'} ≥ 90%)")
    return lines

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct", help="base model (default: the built-in SmolLM2-135M)")
    ap.add_argument("--steps", type=int, default=12, help="training steps per single-task adapter (multi-task: twice)")
    ap.add_argument("--limit", type=int, default=16, help="test examples per task")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--lr", type=float, default=1.75e-3, help="peak learning rate (the demo's)")
    ap.add_argument("--val", type=int, default=16, help="validation examples per task (for the validation loss)")
    ap.add_argument("--out", default="outputs/multitask_compare", help="directory for runs, table and chart")
    ap.add_argument("--png", default=None, help="also copy the chart here (e.g. nbs/images/multitask_compare.png)")
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads)
    from ft_nb.training import LoRATrainer
    from ft_nb.multitask import combine_adapters
    from ft_nb.evaluation import compare_tasks, to_markdown
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    cfgs, times, t0 = _configs(a.model, a.steps, out, a.lr, a.val), {}, time.time()
    for name, c in cfgs.items():
        s = time.time()
        r = LoRATrainer(dict(c, overwrite_output_dir=True)).train()
        times[name] = round(time.time() - s, 1)
        print(f"trained {name}: {r['steps']} steps, eval_loss {r['eval_loss']:.3f}, {times[name]} s", flush=True)
    for m in ("cat", "ties"):
        s = time.time()
        combine_adapters([out/"demo", out/"extract"], out/f"merged_{m}", m, [1, 1], 0.5 if m == "ties" else None,
                       overwrite=True)
        times[f"merged_{m}"] = round(time.time() - s, 1)
    s = time.time()
    dirs = ["demo", "extract", "multi", "merged_cat", "merged_ties"]
    tc = compare_tasks(cfgs["multi"], [out/n for n in dirs], limit=a.limit, out_dir=out, progress=False,
                       names=["single_demo", "single_extract", "multi", "merged_cat", "merged_ties"])
    times["evaluation"] = round(time.time() - s, 1)
    t = tc.table
    main_metric = dict(demo="demo accuracy", extract="extract json_field_accuracy")
    checks = _targets(t, main_metric, ["merged_cat", "merged_ties"])
    wall = round(time.time() - t0, 1)
    md = "\n".join([to_markdown(tc.table), "",
                    f"{a.limit} test examples per task (the first of each bundled test set); training steps: "
                    f"{a.steps} per single-task adapter, {2 * a.steps} for the multi-task one (batch 8, LoRA r=32 on "
                    f"every linear layer, learning rate {a.lr}); merges of the two single-task adapters with weights 1,1 "
                    "(ties: density 0.5).",
                    f"Model {a.model}, {a.threads} CPU threads; wall time {wall} s (" +
                    ", ".join(f"{k} {v} s" for k, v in times.items()) + ").", "", *checks])
    (out/"multitask_compare.md").write_text(md + "\n")
    shutil.copy(out/"tasks.png", out/"multitask_compare.png")
    if a.png: Path(a.png).parent.mkdir(parents=True, exist_ok=True); shutil.copy(out/"tasks.png", a.png)
    (out/"multitask_compare.json").write_text(json.dumps(dict(times=times, wall_s=wall, limit=a.limit, steps=a.steps,
                                                              table=json.loads(t.to_json(orient="index"))), indent=1))
    print(md)
    return 0

if __name__ == "__main__": sys.exit(main())
