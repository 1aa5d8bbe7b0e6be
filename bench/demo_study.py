"""Run the study that chose `ft-nb demo`'s settings (issue 13) and print its table.

    python bench/demo_study.py [--out /work/runs/demo_study] [--trials 6] [--threads 2]

The search space and budget are in bench/demo_study.yaml. The first trial is the demo's earlier hand-picked setting
(lr 1e-3, r 16, alpha 2r, attention projections) and the second the same rank on every linear layer at twice the
learning rate, queued so the study starts from known points; a killed study resumes.
"""
import argparse, json, time
from pathlib import Path
import torch
from ft_nb.tuning import tune, read_tune_config, _open_study

p = argparse.ArgumentParser()
p.add_argument("--out", default="/work/runs/demo_study"); p.add_argument("--trials", type=int)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
cfg_path = Path(__file__).with_name("demo_study.yaml")
cfg, space, st = read_tune_config(str(cfg_path), trials=a.trials)
study, _ = _open_study(cfg, space, st, Path(a.out))
if not study.trials:
    study.enqueue_trial(dict(learning_rate=1e-3, lora_r=16, lora_alpha_ratio=2,
                             target_modules=json.dumps(["q_proj", "k_proj", "v_proj", "o_proj"])))
    study.enqueue_trial(dict(learning_rate=2e-3, lora_r=16, lora_alpha_ratio=2, target_modules="all-linear"))
t = time.time()
res = tune(str(cfg_path), out_dir=a.out, trials=a.trials)
print(res.table.to_markdown(index=False))
print(f"best: {res.best_params} value {res.study.best_value:.1f}; study wall time {time.time()-t:.0f} s")
