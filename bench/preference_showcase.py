"""Preference showcase: SFT → its mistakes on the training split → DPO → base / SFT / SFT+DPO on the test split.

    python bench/preference_showcase.py --sft /work/runs/demo_sft --out /work/runs/pref_showcase

One command, on the CPU, with the built-in SmolLM2-135M-Instruct and the bundled support-ticket task:
1. the demo's SFT adapter (`ft-nb demo --out DIR`) answers the 600 tickets of the *training* split (short answers,
   batched); `ft_nb.preference.pairs_from_predictions` turns its wrong answers into pairs (chosen = the reference label,
   rejected = its answer), the count is printed;
2. DPO continues the SFT adapter (`init_adapter`: the trainable adapter starts as the SFT adapter, a frozen copy of
   it is the reference) once per setting of `--grid`; each result is scored on the 100 *validation* tickets, and the
   setting with the best validation accuracy is chosen (ties: the first in grid order, the gentlest);
3. base, SFT and the chosen SFT+DPO adapter are evaluated together on the 150 *test* tickets (`compare_models`, the
   demo's answer budget), and the blind A/B session SFT vs SFT+DPO is built from those test predictions (`ft-nb ab`).

Prints the table with the stage times and writes it to OUT/showcase.md (and OUT/showcase.json).
"""
import argparse, json, shutil, sys, time
from pathlib import Path


def _stage(times, name):
    class _T:
        def __enter__(self):
            self.t = time.time(); print(f"▶ {name} ...", flush=True); return self
        def __exit__(self, *a):
            times[name] = round(time.time() - self.t, 1); print(f"✓ {name}: {times[name]} s", flush=True)
    return _T()


def _acc(comp, name):
    t = comp.table
    return float(t.loc[name, "accuracy"]), float(t.loc[name, "label_found"]), len(comp.results[0].predictions)


def _same_run(d:Path, beta, lr, steps, w)->bool:
    "Whether the DPO run in `d` used these settings (so that --reuse may take its results)."
    m = json.loads((d/"ft_nb_manifest.json").read_text())
    c, p = m.get("config", {}), m.get("preference", {})
    return (c.get("learning_rate"), c.get("max_steps"), p.get("beta"), p.get("sft_weight")) == (lr, steps, beta, w)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sft", default="/work/runs/demo_sft", help="the demo's SFT run directory (ft-nb demo --out DIR)")
    ap.add_argument("--out", default="outputs/preference_showcase", help="work directory (pairs, DPO runs, tables)")
    ap.add_argument("--grid", default="0.1:2e-4:12:1.0",
                    help="DPO settings beta:learning_rate:steps[:sft_weight], comma-separated; chosen on the "
                         "validation split")
    ap.add_argument("--batch", type=int, default=8, help="pairs per DPO step")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--train-tokens", type=int, default=8,
                    help="answer budget when the SFT model answers the training split")
    ap.add_argument("--limit", type=int, default=None, help="first N tickets of each split only (a smoke test)")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse the SFT answers on the training and validation splits of an earlier run in --out "
                         "(their recorded times are reported)")
    ap.add_argument("--no-base", action="store_true",
                    help="do not evaluate the base model on the test split (the slowest evaluation: its replies are "
                         "wordy); the table then says so")
    a = ap.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    from ft_nb.core import load_config
    from ft_nb.data import write_jsonl
    from ft_nb.tasks import DEMO_LABELS
    from ft_nb.evaluation import compare_models, to_markdown
    from ft_nb.preference import PreferenceTrainer, pairs_from_predictions
    from ft_nb.human_eval import cmd_ab

    sft, out = Path(a.sft), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t_all, times = time.time(), {}
    cfg = load_config(sft/"ft_nb_config.yaml").replace(output_dir=str(out/"unused"), eval_batch_size=32)
    ev = dict(include_base=False, val_loss=False, progress=False, limit=a.limit)

    old = json.loads((out/"times.json").read_text()) if a.reuse and (out/"times.json").exists() else {}
    def reused(name, path):
        if name in old and path.exists():
            times[name] = old[name]; print(f"✓ {name}: reused from the earlier run ({old[name]} s)"); return True
    def keep(): (out/"times.json").write_text(json.dumps(times, indent=1))
    name = "SFT answers the training split (600 tickets)"
    if not reused(name, out/"sft_on_train"/"eval_predictions.jsonl"):
        with _stage(times, name):
            compare_models(cfg.replace(test_dataset="demo:train", eval_max_new_tokens=a.train_tokens), [sft],
                           out_dir=out/"sft_on_train", names=["sft"], **ev)
    keep()
    pairs, counts = pairs_from_predictions(out/"sft_on_train", model="sft", labels=list(DEMO_LABELS))
    write_jsonl(pairs, out/"pairs.jsonl")
    print(f"pairs from the SFT model's mistakes on the training split: {json.dumps(counts)}")
    if not pairs: sys.exit(f"no usable mistakes of the SFT model on the training split ({counts}): no pairs")

    name = "SFT on the validation split (100 tickets)"
    if reused(name, out/"val_sft"/"eval_report.json"):
        row = json.loads((out/"val_sft"/"eval_report.json").read_text())["rows"][0]
        val_sft = (row["accuracy"], row["label_found"], json.loads((out/"val_sft"/"eval_report.json").read_text())[
            "test_examples"])
    else:
        with _stage(times, name):
            val_sft = _acc(compare_models(cfg.replace(test_dataset="demo:val"), [sft], out_dir=out/"val_sft",
                                          names=["sft"], **ev), "sft")
    keep()
    print(f"SFT validation accuracy {val_sft[0]:.1f}%")
    runs = []
    for i, g in enumerate(a.grid.split(",")):
        beta, lr, steps, *w = g.split(":"); beta, lr, steps = float(beta), float(lr), int(steps)
        w = float(w[0]) if w else 0.0
        d = out/f"dpo_{i}"
        name = f"DPO beta={beta} lr={lr:g} steps={steps} sft_weight={w:g}"
        vp = out/f"val_dpo_{i}"/"eval_report.json"
        if reused(f"train {name}", d/"report.json") and reused(f"validate {name}", vp) and \
           _same_run(d, beta, lr, steps, w):
            losses = [e["loss"] for e in json.loads((d/"report.json").read_text())["log_history"] if "loss" in e]
            rep = json.loads(vp.read_text())
            va = (rep["rows"][0]["accuracy"], rep["rows"][0]["label_found"], rep["test_examples"])
        else:
            with _stage(times, f"train {name}"):
                T = PreferenceTrainer(dict(model_name=cfg.model_name, dataset=str(out/"pairs.jsonl"), val_fraction=0,
                                           max_steps=steps, learning_rate=lr, per_device_batch_size=a.batch,
                                           lr_scheduler="constant", warmup_ratio=0.0, max_seq_len=cfg.max_seq_len,
                                           logging_steps=1, save_steps=10_000, eval_on_start=False,
                                           output_dir=str(d), overwrite_output_dir=True, seed=42, report_to="none"),
                                      dict(init_adapter=str(sft), beta=beta, sft_weight=w))
                T.train()
            losses = [e["loss"] for e in T.hf_trainer.state.log_history if "loss" in e]
            del T
            with _stage(times, f"validate {name}"):
                va = _acc(compare_models(cfg.replace(test_dataset="demo:val"), [d], out_dir=out/f"val_dpo_{i}",
                                         names=["dpo"], **ev), "dpo")
        runs.append(dict(dir=str(d), beta=beta, lr=lr, steps=steps, sft_weight=w, val_accuracy=va[0],
                         val_label_found=va[1],
                         val_n=va[2], first_loss=round(losses[0], 4), last_loss=round(losses[-1], 4),
                         train_s=times[f"train {name}"]))
        keep()
        print(f"{name}: validation accuracy {va[0]:.1f}% (SFT {val_sft[0]:.1f}%), DPO loss {losses[0]:.4f} -> "
              f"{losses[-1]:.4f}", flush=True)
    best = max(runs, key=lambda r: r["val_accuracy"])   # max keeps the first of equals: the gentlest setting

    with _stage(times, "SFT and SFT+DPO on the test split (150 tickets)"):
        comp = compare_models(cfg, [sft, best["dir"]], include_base=False, val_loss=False, progress=False,
                              limit=a.limit, out_dir=out/"test_eval", names=["sft", "sft+dpo"])
    keep()
    t = comp.table
    if not a.no_base:   # last, being the slowest: an interrupted run still has the SFT / SFT+DPO table
        with _stage(times, "base on the test split (150 tickets)"):
            tb = compare_models(cfg, [], include_base=True, val_loss=False, progress=False, limit=a.limit,
                                out_dir=out/"test_base").table
        t = tb.loc[["base"]].combine_first(t).loc[["base", "sft", "sft+dpo"]]
    shutil.rmtree(out/"ab_session", ignore_errors=True)   # this script's own session of an earlier run
    cmd_ab(str(out/"test_eval"), str(out/"test_eval"), out=str(out/"ab_session"), model_a="sft", model_b="sft+dpo")
    total = time.time() - t_all + sum(old.get(k, 0) for k in times if k in old)   # reused stages count
    keep()

    n_test, n_val = len(comp.results[0].predictions), runs[0]["val_n"]
    rows = [f"| model | test accuracy ({n_test}) | label found | validation accuracy ({n_val}) |", "|---|---|---|---|"]
    if "base" in t.index:
        rows.append(f"| base SmolLM2-135M-Instruct | {t.loc['base', 'accuracy']:.1f}% | "
                    f"{t.loc['base', 'label_found']:.1f}% | |")
    else: rows.append("| base SmolLM2-135M-Instruct | not evaluated in this run (--no-base) | | |")
    rows.append(f"| SFT (demo adapter) | {t.loc['sft', 'accuracy']:.1f}% | {t.loc['sft', 'label_found']:.1f}% "
                f"| {val_sft[0]:.1f}% |")
    rows.append(f"| SFT+DPO (beta {best['beta']}, lr {best['lr']:g}, {best['steps']} steps, sft_weight "
                f"{best['sft_weight']:g}) | "
                f"{t.loc['sft+dpo', 'accuracy']:.1f}% | {t.loc['sft+dpo', 'label_found']:.1f}% | "
                f"{best['val_accuracy']:.1f}% |")
    grid = ["| DPO setting | validation accuracy | DPO loss first → last | train (s) |", "|---|---|---|---|"]
    grid += [f"| beta {r['beta']}, lr {r['lr']:g}, {r['steps']} steps of {a.batch} pairs, sft_weight "
             f"{r['sft_weight']:g} | {r['val_accuracy']:.1f}% "
             f"| {r['first_loss']} → {r['last_loss']} | {r['train_s']} |" for r in runs]
    stages = ["| stage | wall (s) |", "|---|---|"] + [f"| {k} | {v} |" for k, v in times.items()]
    stages.append(f"| **total** | {total:.0f} |")
    md = "\n".join(["## Test accuracy: base → SFT → SFT+DPO", "", *rows, "",
                    f"Pairs: {counts['pairs']} from the SFT adapter's {counts['wrong']} wrong answers on the "
                    f"{counts['read']} training tickets ({counts['right']} right).", "",
                    "## DPO settings (chosen on validation)", "", *grid, "",
                    f"## Stages (torch threads {torch.get_num_threads()})", "", *stages])
    (out/"showcase.md").write_text(md + "\n")
    (out/"showcase.json").write_text(json.dumps(dict(pairs=counts, val_sft=val_sft[0], runs=runs, best=best,
                                                     test=json.loads(t.to_json()), times=times, total_s=total),
                                                indent=1, default=str))
    print("\n" + md)
    print(f"\nfull comparison table:\n{to_markdown(t)}\nfiles in {out}")


if __name__ == "__main__": main()
