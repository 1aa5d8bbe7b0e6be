"""GRPO step time: ft_nb's `RLTrainer` (generation with the adapter merged) against the same trainer generating
through the PEFT model, and against TRL's own `GRPOTrainer` on the same model, data, LoRA, rewards and settings.

Variants, each in its own process, one after the other in one run (compare only ratios of one run):
  ft_nb          RLTrainer: ft_nb's prompt tokens, LM head on completions only, generation with the adapter merged
  ft_nb_nomerge  the same, generating through the PEFT model (`RLTrainer(..., merge_for_generation=False)`)
  trl            TRL's GRPOTrainer with a peft LoraConfig: the same rendered prompts, reward functions and config
Each prints the median time of a training step (generation, rewards, the policy-gradient step) after the first.

    python bench/grpo_step.py                       # CPU, SmolLM2-135M, fp32 (a few minutes on 2 cores)
    python bench/grpo_step.py --device cuda --steps 10 --batch 16
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

LABELS = ["billing", "refund", "shipping", "technical", "account", "cancellation", "product_info", "feedback"]


def config(a, out:Path)->dict:
    "The GRPO config every variant trains (the shipped config's settings, from the base model)."
    from ft_nb.data import demo_task_paths
    # the demo's training tickets alone: no validation pass at the end (only steps are timed)
    return dict(model_name=a.model, dataset=str(demo_task_paths()["train"]), val_fraction=0.0,
                max_seq_len=256, method="lora", lora_r=16, lora_alpha=32, lora_dropout=0.0,
                target_modules=a.targets.split(","), max_steps=a.steps, learning_rate=2e-5,
                per_device_batch_size=a.batch, lr_scheduler="constant", warmup_ratio=0.0, eval_steps=10_000,
                save_steps=10_000, logging_steps=1, report_to="none", output_dir=str(out), seed=42,
                labels=LABELS, device=a.device, precision="fp32" if a.device == "cpu" else "auto",
                grpo=dict(loss_type="dapo", num_generations=a.generations,
                          max_completion_length=a.completion, temperature=1.0, beta=0.0,
                          rewards=["accuracy", dict(name="format", weight=0.2,
                                                    args=dict(pattern="(" + "|".join(LABELS) + r")\.?",
                                                              full=True))]))


def timed_steps(cls)->list:
    "Wrap `cls.training_step` (TRL's GRPO step: generation, rewards, loss, backward) to record its wall times."
    times, orig = [], cls.training_step
    def step(self, *args, **kw):
        t0 = time.perf_counter()
        out = orig(self, *args, **kw)
        times.append(time.perf_counter() - t0)
        return out
    cls.training_step = step
    return times


def child(a):
    import trl
    times = timed_steps(trl.GRPOTrainer)
    work = Path(a.work)
    cfg = config(a, work/a.variant)
    from ft_nb.rl import RLTrainer, grpo_arguments
    if a.variant != "trl":
        RLTrainer(cfg, merge_for_generation=a.variant == "ft_nb").train()
    else:
        from peft import LoraConfig
        t = RLTrainer(cfg)              # ft_nb's data, rewards and arguments; TRL's trainer on them
        t.model = None
        args = grpo_arguments(t.cfg, t.grpo, t.reward_weights, t.device, t.precision, False)
        from ft_nb.models import resolve_model
        path = resolve_model(a.model)["path"]
        trainer = trl.GRPOTrainer(model=str(path), reward_funcs=t.rewards, args=args,
                                  train_dataset=t.data.train.remove_columns(["prompt_ids"]),
                                  peft_config=LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                                         target_modules=a.targets.split(","),
                                                         task_type="CAUSAL_LM"))
        trainer.train()
    (work/f"{a.variant}.json").write_text(json.dumps(dict(step_s=times)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=8, help="completions per step")
    ap.add_argument("--generations", type=int, default=4)
    ap.add_argument("--completion", type=int, default=16, help="max_completion_length")
    ap.add_argument("--targets", default="q_proj,v_proj", help="LoRA target modules, comma-separated")
    ap.add_argument("--variants", default="ft_nb,ft_nb_nomerge,trl")
    ap.add_argument("--variant", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.variant: return child(a)
    a.work = tempfile.mkdtemp(prefix="ft_nb_grpo_bench_")
    print(f"model {a.model} | {a.device} | {a.steps} steps x {a.batch} completions ({a.generations} per prompt, "
          f"<= {a.completion} tokens)", flush=True)
    res = {}
    for v in a.variants.split(","):
        cmd = [sys.executable, __file__, "--variant", v, "--work", a.work] + [
            x for k in ("model", "device", "steps", "batch", "generations", "completion", "targets")
            for x in (f"--{k}", str(getattr(a, k)))]
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
        if p.returncode:
            print(f"{v}: FAILED\n{p.stderr[-3000:]}")
            continue
        st = json.loads((Path(a.work)/f"{v}.json").read_text())["step_s"]
        res[v] = statistics.median(st[1:]) if len(st) > 1 else st[0]
        print(f"{v:14} {len(st)} steps, median step {res[v]:.2f} s (first {st[0]:.2f} s), "
              f"process {time.time() - t0:.0f} s, load {os.getloadavg()[0]:.1f}", flush=True)
    for b in ("ft_nb_nomerge", "trl"):
        if "ft_nb" in res and b in res: print(f"ft_nb vs {b}: step time x{res['ft_nb'] / res[b]:.2f} "
                                              f"(speed-up x{res[b] / res['ft_nb']:.2f})")


if __name__ == "__main__": main()
