"""Peak memory of ft_nb's DPO (reference = a frozen copy of the adapter on the same base model) vs TRL's DPOTrainer
given a separate reference model: same model, data, LoRA, batch and steps; each variant in its own process.

    python bench/dpo_memory.py                      # synthetic SmolLM2-shaped llama (fp32, CPU or GPU)
    python bench/dpo_memory.py --model smollm2-135m-instruct --steps 3

Memory: on a GPU torch.cuda.max_memory_allocated; on a CPU the peak resident set size (ru_maxrss) minus the resident
size just before the model is loaded (the Python/torch/transformers baseline, the same for both). Prints one line per
variant and the ratio ft_nb / TRL-with-reference (target <= 0.6).

Three variants: `ft_nb` (reference = the adapter switched off or its frozen copy; the LM head projects only the answer
positions), `ft_nb_all_positions` (the same, with TRL's every-position LM head where Triton does not run) and
`trl_ref_model` (TRL's head and a separately loaded reference model). `--data tickets` uses the showcase's pairs (the
bundled task's ~100-token prompts, one-word answers) instead of the synthetic short prompts with 17-token answers.

Measured 2026-11-30, CPU fp32 (2 cores shared with three other jobs; RSS), 2 steps of batch 2, LoRA r=16 on q_proj,
v_proj, synthetic 68M-parameter SmolLM2-shaped llama (--layers 12):
    python bench/dpo_memory.py                 ft_nb 498 MB, all positions 699 MB, TRL + reference 949 MB: 0.52 (0.74)
    python bench/dpo_memory.py --data tickets  ft_nb 0.46 x, all positions 0.77 x of TRL + reference (1193 MB)
Earlier, on an H200 (bf16; with Triton, as in CUDA builds of torch, TRL already projects only the scored positions,
so the answers-only change does not apply there): ~0.66B params (--hidden 2048 --layers 16) batch 2 1641 vs 2911 MB
= 0.56, batch 8 0.66; SmolLM2-135M shape (--layers 30) batch 2 436 vs 649 MB = 0.67, batch 8 0.80. The reference
saving is one copy of the base model (TRL's own PEFT path copies only the adapter as its `ref`); on a CPU the larger
saving is the LM head, whose fp32 tiles over every position of a padded batch ([positions, 32768] and their
temporaries) outweigh a 68M model.
"""
import argparse, json, os, resource, subprocess, sys, tempfile
from pathlib import Path

def _rss_mb()->float:
    with open("/proc/self/statm") as f: return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def _model_dir(a)->str:
    "The model to use: --model as given, or a synthetic SmolLM2-shaped llama saved once in a temp dir."
    if a.model: return a.model
    out = Path(tempfile.gettempdir())/f"ft_nb_dpo_mem_{a.hidden}x{a.layers}_v2"
    if not (out/".complete").exists():
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from ft_nb.models import tiny_config, default_tokenizer_dir
        torch.manual_seed(0)
        h = a.hidden // 64
        kv = next(k for k in (h // 3, h // 4, 1) if k and h % k == 0)
        c = tiny_config("llama", hidden=a.hidden, layers=a.layers, heads=h, kv_heads=kv)
        AutoModelForCausalLM.from_config(c).save_pretrained(out)
        AutoTokenizer.from_pretrained(default_tokenizer_dir()).save_pretrained(out)
        (out/".complete").write_text("ok")
    return str(out)

def _pairs(n:int)->list:
    topics = "parcel refund invoice password screen order account delivery".split()
    return [dict(prompt=f"My {topics[i % 8]} has a problem number {i}, what should I do about it today?",
                 chosen=f"Please open a ticket about the {topics[i % 8]}; we answer within a day.",
                 rejected="I do not know.") for i in range(n)]

def _ticket_pairs(n:int)->list:
    "Support-ticket pairs as the showcase builds them: the bundled task's prompt, its label, another label."
    from ft_nb.data import read_rows
    from ft_nb.tasks import DEMO_LABELS
    rows, _ = read_rows("demo:train")
    labs = list(DEMO_LABELS)
    return [dict(prompt=f"{r['instruction']}\n\n{r['input']}", chosen=r["output"],
                 rejected=labs[(labs.index(r["output"]) + 1) % len(labs)]) for r in rows[:n]]

def run_variant(a)->dict:
    import torch
    from ft_nb.core import load_config, pick_device_and_precision
    from ft_nb.preference import PreferenceTrainer, PreferenceConfig, prepare_pairs, preference_arguments
    from ft_nb.preference import _trainer_class
    from ft_nb.data import write_jsonl
    tmp = Path(tempfile.mkdtemp())
    write_jsonl((_ticket_pairs if a.data == "tickets" else _pairs)(a.batch * a.steps), tmp/"pairs.jsonl")
    cfg = load_config(dict(model_name=a.model_dir, dataset=str(tmp/"pairs.jsonl"), val_fraction=0, max_steps=a.steps,
                           per_device_batch_size=a.batch, lora_r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"],
                           logging_steps=1, save_steps=10_000, eval_on_start=False, report_to="none",
                           output_dir=str(tmp/"out"), max_seq_len=256, seed=0))
    pref = PreferenceConfig()
    cuda = pick_device_and_precision(cfg.device, cfg.precision)[0] == "cuda"
    _trainer_class("dpo"); import accelerate, peft, datasets   # heavy imports before the baseline
    base = _rss_mb()
    maxrss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
    if a.variant in ("ft_nb", "ft_nb_all_positions"):
        t = PreferenceTrainer(cfg, pref)
        t.hf_trainer.score_answers_only = a.variant == "ft_nb"
        built = dict(rss=_rss_mb() - base, peak=maxrss())
        t.hf_trainer.train()
    else:   # the same trainer class and data, but TRL is handed a separately loaded reference model
        from ft_nb.models import load_for
        from ft_nb.methods import apply_method
        dev, prec = pick_device_and_precision(cfg.device, cfg.precision)
        model, tok = load_for(cfg, device=dev, precision=prec)
        ref, _ = load_for(cfg, device=dev, precision=prec, for_training=False)
        data = prepare_pairs(cfg, pref, tok)
        policy = apply_method(model, cfg)
        _, T = _trainer_class("dpo")
        t = T(model=policy, ref_model=ref, args=preference_arguments(cfg, pref, dev, prec, has_val=False),
              train_dataset=data.train, processing_class=tok)
        t.score_answers_only = False   # TRL's own head: every position projected where Triton does not run
        built = dict(rss=_rss_mb() - base, peak=maxrss())
        t.train()
    if cuda: peak = torch.cuda.max_memory_allocated() / 2**20
    else: peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
    return dict(variant=a.variant, peak_mb=round(peak, 1), device="cuda" if cuda else "cpu",
                built_rss_mb=round(built["rss"], 1), built_peak_mb=round(built["peak"], 1))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model name or directory (default: synthetic SmolLM2-shaped llama)")
    ap.add_argument("--hidden", type=int, default=576); ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--batch", type=int, default=2); ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--data", choices=("synthetic", "tickets"), default="synthetic",
                    help="synthetic: short prompts, 17-token chosen answers; tickets: the bundled task's ~100-token "
                         "prompts with one-word labels (the showcase's pairs)")
    ap.add_argument("--variant", help=argparse.SUPPRESS); ap.add_argument("--model-dir", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.variant:
        print("RESULT " + json.dumps(run_variant(a))); return
    md = _model_dir(a)
    res = {}
    for v in ("ft_nb", "ft_nb_all_positions", "trl_ref_model"):
        cmd = [sys.executable, __file__, "--variant", v, "--model-dir", md, "--batch", str(a.batch),
               "--steps", str(a.steps), "--data", a.data]
        r = subprocess.run(cmd, capture_output=True, text=True)
        line = next((l for l in r.stdout.splitlines() if l.startswith("RESULT ")), None)
        if line is None: sys.exit(f"{v} failed:\n{r.stderr[-3000:]}")
        res[v] = json.loads(line[7:])
        x = res[v]
        print(f"{v:>19}: peak {x['peak_mb']:.1f} MB ({x['device']}); before training (RSS over the baseline): "
              f"{x['built_rss_mb']:.1f} MB resident, {x['built_peak_mb']:.1f} MB peak so far")
    ratio = res["ft_nb"]["peak_mb"] / res["trl_ref_model"]["peak_mb"]
    r2 = res["ft_nb_all_positions"]["peak_mb"] / res["trl_ref_model"]["peak_mb"]
    print(f"ratio ft_nb / TRL with a separate reference model: {ratio:.2f} (target <= 0.6); without scoring only the "
          f"answer positions: {r2:.2f} "
          f"[model {Path(md).name}, {a.data} pairs, batch {a.batch}, {a.steps} steps, LoRA r=16 on q_proj,v_proj]")

if __name__ == "__main__": main()
