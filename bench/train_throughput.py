"""Training throughput: ft_nb (padding-free packing) vs TRL's SFTTrainer, same model, data, LoRA config and seed.

Runs, each in its own process (clean memory accounting):
  ft_nb        LoRATrainer: padding-free packing (transformers' DataCollatorWithFlattening), use_cache=False
  trl_padded   TRL SFTTrainer + peft LoraConfig with default (padded) batches -- what a user would otherwise pick
  trl_pf       TRL SFTTrainer with padding_free=True -- the best a user could configure by hand
All three use the same gradient-checkpointing setting (TRL turns it on by default, which would flatter ft_nb).

Prints real (non-padding) training tokens/s and the ratio to each baseline, peak memory and its ratio, the padding
share of each run's batches, and the final validation loss of each. The validation loss is computed the same way for
every run (token-weighted over the answer and its end-of-turn token, `ft_nb.evaluation.evaluate_loss`): each trainer's
own eval loss averages over different tokens (TRL's completion also trains the newline after `<|im_end|>`, a nearly
free token that lowers its mean by ~30% on this one-word-answer task), so those are printed only for reference.
Variant `ft_nb_full` is ft_nb with `target_logits_only: false` (full-vocabulary logits at every position), an ablation.

    python bench/train_throughput.py                      # CPU, SmolLM2-135M, fp32 (~10 min on 2 cores)
    python bench/train_throughput.py --device cuda        # bf16 on a GPU
    python bench/train_throughput.py --device cuda --qlora  # 4-bit base (QLoRA) on a GPU
    python bench/train_throughput.py --model Qwen/Qwen2.5-0.5B-Instruct --device cuda --steps 50 --batch 16
"""
from __future__ import annotations
import argparse, json, os, random, subprocess, sys, tempfile, threading, time
from pathlib import Path

LABELS = None

def make_skewed_data(out:Path, n_train:int, n_val:int, seed:int=0)->dict:
    "Length-skewed instruction data from the bundled demo task: most tickets short, a long tail with earlier messages."
    from ft_nb.data import demo_task_paths
    rng = random.Random(seed)
    p = demo_task_paths()
    rows = [json.loads(l) for l in open(p["train"]) if l.strip()]
    vrows = [json.loads(l) for l in open(p["val"]) if l.strip()]
    def skew(r):
        u = rng.random()
        k = 0 if u < 0.6 else rng.randint(1, 3) if u < 0.85 else rng.randint(5, 9)   # 60% short, 15% very long (all under max_seq_len)
        hist = " ".join(rng.choice(rows)["input"] for _ in range(k))
        inp = r["input"] + (f"\n\nEarlier messages from this customer: {hist}" if k else "")
        return dict(instruction=r["instruction"], input=inp, output=r["output"])
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, src, n in (("train", rows, n_train), ("val", vrows, n_val)):
        recs = [skew(src[i % len(src)]) for i in range(n)]
        f = out/f"{name}.jsonl"; f.write_text("".join(json.dumps(r) + "\n" for r in recs)); files[name] = str(f)
    return files

class Meter:
    "Counts real and total token positions per training step, times the steps, samples peak memory."
    def __init__(self, device):
        self.device, self.real, self.total, self.t0, self.t1 = device, 0, 0, None, None
        self.rss0 = self.peak = 0; self._stop = False
    def wrap(self, trainer):
        orig = trainer.training_step
        def step(model, inputs, *a, **k):
            if self.t0 is None: self.start()
            ids = inputs["input_ids"]; m = inputs.get("attention_mask")
            self.total += ids.numel()
            self.real += int(m.sum()) if m is not None else ids.numel()   # padding-free rows hold no padding
            return orig(model, inputs, *a, **k)
        trainer.training_step = step
    def start(self):
        import torch, psutil
        if self.device == "cuda": torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); self.rss0 = torch.cuda.memory_allocated()
        else:
            proc = psutil.Process(); self.rss0 = self.peak = proc.memory_info().rss
            def sample():
                while not self._stop: self.peak = max(self.peak, proc.memory_info().rss); time.sleep(0.005)
            threading.Thread(target=sample, daemon=True).start()
        self.t0 = time.perf_counter()
    def stop(self):
        import torch
        if self.device == "cuda": torch.cuda.synchronize(); self.peak = torch.cuda.max_memory_allocated()
        self.t1 = time.perf_counter(); self._stop = True
    def result(self):
        dt = self.t1 - self.t0
        return dict(real_tokens=self.real, positions=self.total, seconds=round(dt, 2), real_tok_s=round(self.real/dt, 1),
                    padding_share=round(1 - self.real/max(self.total, 1), 4), peak_mem_mb=round(self.peak/2**20, 1),
                    train_mem_mb=round((self.peak - self.rss0)/2**20, 1))

def common_val_loss(model, files, a)->float:
    "Token-weighted validation loss over the same target tokens (answer + end of turn) for every run."
    from ft_nb.core import load_config
    from ft_nb.models import load_tokenizer
    from ft_nb.data import prepare_data
    from ft_nb.evaluation import evaluate_loss
    cfg = load_config(dict(model_name=a.model, dataset=files["val"], val_fraction=0.0, data_format="alpaca", max_seq_len=a.max_seq_len,
                           data_cache=False, output_dir=str(Path(a.work)/"val_prep")))
    return evaluate_loss(model, prepare_data(cfg, load_tokenizer(a.model)).train)["loss"]

def run_ft_nb(a, files, device, full_logits=False):
    from ft_nb.training import LoRATrainer
    prec = "bf16" if device == "cuda" else "fp32"
    cfg = dict(model_name=a.model, dataset=files["train"], val_dataset=files["val"], data_format="alpaca", max_seq_len=a.max_seq_len,
               method="qlora" if a.qlora else "lora", lora_r=16, lora_alpha=32, lora_dropout=0.05, target_modules=["q_proj", "v_proj"],
               packing=True, max_steps=a.steps, per_device_batch_size=a.batch, learning_rate=a.lr, lr_scheduler="cosine",
               warmup_ratio=0.1, gradient_checkpointing=a.gradient_checkpointing, eval_steps=10**6, save_steps=10**6,
               logging_steps=max(1, a.steps//5), seed=a.seed, device=device, precision=prec, data_cache=False,
               target_logits_only=not full_logits, output_dir=str(Path(a.work)/f"{a.variant}_run"), overwrite_output_dir=True)
    t = LoRATrainer(cfg)
    t.hf_trainer.args.eval_on_start = False      # time the training steps only
    m = Meter(device); m.wrap(t.hf_trainer)
    t.hf_trainer.train(); m.stop()
    return dict(**m.result(), own_val_loss=t.hf_trainer.evaluate()["eval_loss"], val_loss=common_val_loss(t.model, files, a))

def run_trl(a, files, device, padding_free):
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer
    from ft_nb.models import load_model_and_tokenizer
    from ft_nb.core import seed_everything
    seed_everything(a.seed)
    prec = "bf16" if device == "cuda" else "fp32"
    model, tok = load_model_and_tokenizer(a.model, load_in_4bit=a.qlora, device=device, precision=prec)
    def ds(f):
        recs = [json.loads(l) for l in open(f) if l.strip()]
        return Dataset.from_list([dict(prompt=[dict(role="user", content=r["instruction"] + (f"\n\n{r['input']}" if r["input"] else ""))],
                                       completion=[dict(role="assistant", content=r["output"])]) for r in recs])
    args = SFTConfig(output_dir=str(Path(a.work)/f"trl_{'pf' if padding_free else 'padded'}"), max_steps=a.steps,
                     per_device_train_batch_size=a.batch, per_device_eval_batch_size=a.batch, learning_rate=a.lr,
                     lr_scheduler_type="cosine", warmup_steps=0.1, gradient_checkpointing=a.gradient_checkpointing,
                     gradient_checkpointing_kwargs=dict(use_reentrant=False) if a.gradient_checkpointing else None,
                     max_length=None if padding_free else a.max_seq_len, padding_free=padding_free, packing=False, seed=a.seed, data_seed=a.seed,
                     bf16=prec == "bf16", use_cpu=device == "cpu", report_to="none", save_strategy="no", eval_strategy="no",
                     logging_steps=max(1, a.steps//5), dataloader_num_workers=0)
    peft_cfg = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    tr = SFTTrainer(model=model, args=args, train_dataset=ds(files["train"]), eval_dataset=ds(files["val"]),
                    processing_class=tok, peft_config=peft_cfg)
    m = Meter(device); m.wrap(tr)
    tr.train(); m.stop()
    return dict(**m.result(), own_val_loss=tr.evaluate()["eval_loss"], val_loss=common_val_loss(tr.model, files, a))

def child(a):
    import torch
    torch.manual_seed(a.seed)
    files = json.loads(Path(a.work, "files.json").read_text())
    device = a.device
    r = (run_ft_nb(a, files, device, full_logits=a.variant == "ft_nb_full") if a.variant.startswith("ft_nb")
         else run_trl(a, files, device, padding_free=a.variant == "trl_pf"))
    Path(a.work, f"{a.variant}.json").write_text(json.dumps(r))

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--qlora", action="store_true", help="4-bit base (QLoRA) for both")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-seq-len", type=int, default=512)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--n-train", type=int, default=600)
    ap.add_argument("--n-val", type=int, default=32)
    ap.add_argument("--gradient-checkpointing", action="store_true", help="on for all runs (default: off for all)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--variants", default="ft_nb,trl_padded,trl_pf", help="comma-separated: ft_nb, ft_nb_full, trl_padded, trl_pf")
    ap.add_argument("--variant", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.variant: return child(a)
    work = Path(tempfile.mkdtemp(prefix="ft_nb_bench_")); a.work = str(work)
    files = make_skewed_data(work/"data", a.n_train, a.n_val, a.seed)
    (work/"files.json").write_text(json.dumps(files))
    print(f"model {a.model} | device {a.device}{' | QLoRA 4-bit' if a.qlora else ''} | {a.steps} steps x batch {a.batch} | "
          f"max_seq_len {a.max_seq_len} | gradient checkpointing {'on' if a.gradient_checkpointing else 'off'} (all runs)", flush=True)
    res = {}
    for v in a.variants.split(","):
        cmd = [sys.executable, __file__, "--variant", v, "--work", str(work), "--model", a.model, "--device", a.device,
               "--steps", str(a.steps), "--batch", str(a.batch), "--max-seq-len", str(a.max_seq_len), "--lr", str(a.lr),
               "--seed", str(a.seed)] + (["--qlora"] if a.qlora else []) + (["--gradient-checkpointing"] if a.gradient_checkpointing else [])
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
        if p.returncode: print(f"{v}: FAILED\n{p.stderr[-3000:]}"); continue
        res[v] = json.loads((work/f"{v}.json").read_text())
        print(f"{v:11} done in {time.time()-t0:.0f}s: {res[v]}", flush=True)
    mem = "peak GPU MB" if a.device == "cuda" else "peak RSS MB"
    print(f"\n{'run':12}{'real tok/s':>11}{'padding':>9}{mem:>13}{'train MB':>10}{'val loss':>10}{'(own)':>9}")
    for v, r in res.items():
        print(f"{v:12}{r['real_tok_s']:>11.1f}{r['padding_share']:>9.1%}{r['peak_mem_mb']:>13.0f}{r['train_mem_mb']:>10.0f}"
              f"{r['val_loss']:>10.4f}{r['own_val_loss']:>9.4f}")
    f = res.get("ft_nb")
    for b in ("trl_padded", "trl_pf"):
        if f and b in res:
            r = res[b]
            print(f"ft_nb vs {b}: real tokens/s x{f['real_tok_s']/r['real_tok_s']:.2f} | {mem} x{f['peak_mem_mb']/r['peak_mem_mb']:.2f} | "
                  f"training memory (peak minus before the first step) x{f['train_mem_mb']/max(r['train_mem_mb'],1e-9):.2f} | "
                  f"val loss {100*(f['val_loss']/r['val_loss']-1):+.2f}%")
    (work/"results.json").write_text(json.dumps(res, indent=1))
    print(f"results: {work/'results.json'}")

if __name__ == "__main__": main()
