"""GRPO showcase: a weak SFT start → GRPO on new tickets, against SFT on the same tickets, on the real model.

    python bench/grpo_showcase.py --out /work/runs/grpo_showcase

One command, on the CPU, with the built-in SmolLM2-135M-Instruct and the bundled support-ticket task:
1. the demo's 600 training tickets, in file order, are cut into S (the first `--start-n`) and E (the next
   `--grpo-n`);
2. start: SFT on S with the shipped settings (`configs/smollm2_lora.yaml`, one epoch) — a weak adapter that still
   answers with free text now and then;
3. after GRPO: the start adapter continued with GRPO on E (`configs/smollm2_grpo.yaml`: the label reward against each
   ticket's label plus the format reward; every ticket of E once, `--generations` completions each); E's labels
   are used only as the references of the rewards;
4. SFT on S ∪ E, the same shipped settings: what the same labelled tickets give when they are used as SFT targets;
5. base, start, after GRPO and SFT S ∪ E answer the 150 test tickets (`compare_models`: generated answers and
   scored labels), and each claim is a paired sign test on the same tickets (`evaluation.paired_test`).

Prints the table, the paired tests and the stage times; writes OUT/showcase.md, OUT/showcase.json and OUT/reward.png
(the GRPO run's curves). Nothing downloads: the model is ft_nb's bundled GGUF.
"""
import argparse, dataclasses, json, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"bench"))
from preference_showcase import _stage   # the same timed stages as the DPO showcase


def _write(path: Path, rows: list):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="outputs/grpo_showcase", help="work directory (data, runs, tables)")
    ap.add_argument("--start-n", type=int, default=40, help="training tickets of the start adapter (SFT)")
    ap.add_argument("--grpo-n", type=int, default=120, help="new training tickets for GRPO (and for SFT S+E)")
    ap.add_argument("--start-settings", choices=("shipped", "demo"), default="shipped",
                    help="SFT settings of the start adapter and of SFT S+E: configs/smollm2_lora.yaml, or the "
                         "demo's study-chosen LoRA (ft_nb.demo.DEMO_CONFIG: every linear layer, r 32, lr 1.75e-3)")
    ap.add_argument("--start-epochs", type=float, default=1.0, help="SFT epochs over S (and over S+E)")
    ap.add_argument("--generations", type=int, default=4, help="GRPO completions per ticket")
    ap.add_argument("--prompts-per-step", type=int, default=2, help="GRPO tickets per step")
    ap.add_argument("--lr", type=float, default=5e-5, help="GRPO learning rate")
    ap.add_argument("--beta", type=float, default=0.0, help="GRPO KL weight (0: no reference pass)")
    ap.add_argument("--loss-type", default="dapo", help="GRPO loss_type")
    ap.add_argument("--no-format", action="store_true",
                    help="the label reward alone (drop the shipped config's format reward)")
    ap.add_argument("--limit", type=int, default=None, help="evaluate the first N test tickets only")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--reuse", action="store_true", help="keep finished runs in OUT (same settings assumed)")
    a = ap.parse_args()

    import torch
    if a.threads: torch.set_num_threads(a.threads)
    from ft_nb.core import cpu_has_bf16, pick_device_and_precision, load_config
    from ft_nb.rl import load_grpo
    from ft_nb.training import LoRATrainer
    from ft_nb.rl import RLTrainer
    from ft_nb.evaluation import compare_models, to_markdown
    from ft_nb.runs import read_run

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    demo = ROOT/"ft_nb"/"assets"/"demo_task"
    train = [json.loads(l) for l in (demo/"train.jsonl").read_text().splitlines() if l.strip()]
    if a.start_n + a.grpo_n > len(train):
        sys.exit(f"--start-n + --grpo-n = {a.start_n + a.grpo_n} > the {len(train)} training tickets")
    d = out/"data"
    d.mkdir(exist_ok=True)
    S, E = train[:a.start_n], train[a.start_n:a.start_n + a.grpo_n]
    _write(d/"S.jsonl", S)
    _write(d/"E.jsonl", E)
    _write(d/"SE.jsonl", S + E)

    sft = load_config(ROOT/"configs"/"smollm2_lora.yaml").to_dict()     # YAML's 5e-4 read as ft_nb reads it
    if a.start_settings == "demo":
        from ft_nb.demo import DEMO_CONFIG
        sft.update({k: DEMO_CONFIG[k] for k in ("lora_r", "lora_alpha", "lora_dropout", "target_modules",
                                                 "learning_rate", "lr_scheduler", "warmup_ratio")})
    sft.update(num_epochs=a.start_epochs, max_steps=-1)
    sft.update(val_dataset=str(demo/"val.jsonl"), test_dataset=str(demo/"test.jsonl"),
               early_stopping_patience=None, eval_steps=None, save_steps=None, report_to="none",
               logging_steps=5)
    gcfg, gset = load_grpo(ROOT/"configs"/"smollm2_grpo.yaml")
    grpo = dict(gcfg.to_dict(), grpo=dataclasses.asdict(gset))
    steps = a.grpo_n // a.prompts_per_step
    grpo.update(dataset=str(d/"E.jsonl"), val_dataset=None, val_fraction=0.0,
                test_dataset=str(demo/"test.jsonl"), max_steps=steps, learning_rate=a.lr,
                per_device_batch_size=a.prompts_per_step * a.generations, save_steps=steps,
                report_to="none", output_dir=str(out/"grpo"))
    grpo["grpo"].update(num_generations=a.generations, beta=a.beta, loss_type=a.loss_type,
                        init_adapter=str(out/"start"))
    if a.no_format: grpo["grpo"].update(rewards=["accuracy"], reward_weights=None)

    times = {}
    def done(p): return a.reuse and (p/"ft_nb_manifest.json").exists()
    with _stage(times, f"start: SFT on S ({len(S)} tickets)"):
        if not done(out/"start"):
            LoRATrainer(dict(sft, dataset=str(d/"S.jsonl"), output_dir=str(out/"start"))).train()
    with _stage(times, f"GRPO on E ({len(E)} tickets, {steps} steps)"):
        if not done(out/"grpo"):
            RLTrainer(grpo).train()
    with _stage(times, f"SFT on S + E ({len(S) + len(E)} tickets)"):
        if not done(out/"sft_se"):
            LoRATrainer(dict(sft, dataset=str(d/"SE.jsonl"), output_dir=str(out/"sft_se"))).train()
    with _stage(times, "evaluate on the test split"):
        comp = compare_models(dict(sft, dataset=str(d/"S.jsonl")),
                              [str(out/"start"), str(out/"grpo"), str(out/"sft_se")],
                              names=["start", "after GRPO", "SFT S+E"], limit=a.limit,
                              out_dir=out/"eval", val_loss=False)
    tests = [comp.paired(x, y, m) for x, y in (("start", "after GRPO"), ("SFT S+E", "after GRPO"),
                                              ("start", "SFT S+E"))
             for m in ("accuracy", "scored_accuracy")]
    runs = {n: read_run(out/n) for n in ("start", "grpo", "sft_se")}
    train_s = {n: r.train_time_s for n, r in runs.items()}
    shutil.copyfile(out/"grpo"/"loss.png", out/"reward.png")
    hist = json.loads((out/"grpo"/"report.json").read_text()) if (out/"grpo"/"report.json").exists() else {}
    dev, prec = pick_device_and_precision(None, "auto")
    md = [to_markdown(comp.table), "", *[f"- {t}" for t in tests], "",
          "| stage | seconds |", "|---|---|", *[f"| {k} | {v} |" for k, v in times.items()],
          "", f"train time (s): {json.dumps(train_s)}; device {dev}, precision {prec}, "
          f"native bf16 {cpu_has_bf16()}, torch threads {torch.get_num_threads()}"]
    (out/"showcase.md").write_text("\n".join(md) + "\n")
    (out/"showcase.json").write_text(json.dumps(dict(
        args=vars(a), table=json.loads(comp.table.to_json(orient="index")),
        paired=[t.__dict__ for t in tests], stage_times=times, train_time_s=train_s,
        grpo_curves={k: v for k, v in hist.items() if "reward" in k or "curve" in k}), indent=1, default=str))
    print("\n".join(md))


if __name__ == "__main__":
    main()
