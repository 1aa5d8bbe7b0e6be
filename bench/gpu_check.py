"""One check of ft_nb's GPU paths, in a few minutes on a fresh GPU machine; one table, also written as JSON.

Sections (each runs on its own; a failure is a row of the table, not the end of the check):
  env         device, memory, library versions, bf16 support
  train       LoRA (bf16) and QLoRA (nf4, bf16 compute) real tokens/s and peak memory, ft_nb vs TRL SFTTrainer
              (bench/train_throughput.py), and the QLoRA / LoRA throughput ratio
  attention   forward+backward tokens/s with SDPA, eager and flash attention (where flash-attn is installed)
  compile     LoRA training step time with and without torch.compile
  mfu         model FLOPs utilisation of LoRA training on a ~1B Llama built from a config (random weights)
  generate    batched generation tokens/s (bf16) and merge parity: merged vs adapter logits (ft_nb.deploy)
  grpo        GRPO step time (8 completions a step), generation in the trainer and, where vLLM is installed,
              in vLLM (`grpo: use_vllm`, colocate); without vLLM the refusal's message is the row
  demo        `ft-nb demo` end to end: accuracy before/after and wall time

    bash bench/gpu_check.sh                      # on a GPU (≤ 8 min)
    bash bench/gpu_check.sh --cpu-smoke          # every section at toy size on the CPU, so the script cannot rot
    python bench/gpu_check.py --only train,mfu   # some sections
"""
from __future__ import annotations
import argparse, json, os, platform, re, subprocess, sys, tempfile, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS: list[dict] = []

def row(section:str, measure:str, value, note:str=""):
    ROWS.append(dict(section=section, measure=measure, value=value, note=note))
    print(f"  {section:10} {measure:44} {_fmt(value):>14}  {note}", flush=True)

def _fmt(v): return f"{v:.4g}" if isinstance(v, float) else str(v)

# bf16 dense tensor-core peak, TFLOP/s (vendor figures, SXM where there are two)
PEAK_BF16 = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0, "T4": 65.0,
             "B200": 2250.0}

def peak_tflops(name:str)->float|None:
    return next((v for k, v in PEAK_BF16.items() if k in name.upper()), None)

class Ctx:
    def __init__(self, a):
        import torch
        self.smoke, self.a = a.cpu_smoke, a
        self.device = "cpu" if a.cpu_smoke or not torch.cuda.is_available() else "cuda"
        if self.device == "cpu" and not a.cpu_smoke:
            raise SystemExit("no CUDA GPU found: run with --cpu-smoke for the CPU version of this check")
        self.prec = "bf16" if self.device == "cuda" else "fp32"
        self.model = "tiny-llama" if self.smoke else a.model
        self.work = Path(tempfile.mkdtemp(prefix="ft_nb_gpu_check_"))
        self.adapter = None

def sec_env(c:Ctx):
    import torch, importlib.metadata as md
    row("env", "device", torch.cuda.get_device_name(0) if c.device == "cuda" else f"cpu ({platform.machine()}, {os.cpu_count()} cores)")
    if c.device == "cuda":
        row("env", "GPU memory (GiB)", round(torch.cuda.get_device_properties(0).total_memory/2**30, 1))
        row("env", "bf16 supported", torch.cuda.is_bf16_supported())
        row("env", "CUDA / cuDNN", f"{torch.version.cuda} / {torch.backends.cudnn.version()}")
    for p in ("torch", "transformers", "peft", "trl", "accelerate", "bitsandbytes", "flash-attn", "ft_nb"):
        try: v = md.version(p)
        except md.PackageNotFoundError: v = "not installed"
        row("env", p, v)

def _throughput(c:Ctx, qlora:bool)->dict:
    a = ["--device", c.device, "--variants", "ft_nb,trl_padded"]
    a += (["--model", "tiny-llama", "--steps", "2", "--batch", "2", "--n-train", "16", "--n-val", "4", "--max-seq-len", "256"]
          if c.smoke else ["--model", c.a.model, "--steps", "30", "--batch", "16"])
    p = subprocess.run([sys.executable, str(ROOT/"bench"/"train_throughput.py"), *a] + (["--qlora"] if qlora else []),
                       capture_output=True, text=True, timeout=1200)
    m = re.search(r"^results: (.+)$", p.stdout, re.M)
    if p.returncode or not m: raise RuntimeError(f"train_throughput.py failed: {(p.stdout + p.stderr)[-1500:]}")
    res = json.loads(Path(m.group(1)).read_text())
    if set(res) != {"ft_nb", "trl_padded"}: raise RuntimeError(f"variants missing: {p.stdout[-1500:]}")
    return res

def sec_train(c:Ctx):
    out = {}
    for q in (False, True):
        kind = "QLoRA nf4" if q else f"LoRA {c.prec}"
        res = out[q] = _throughput(c, q)
        f, t = res["ft_nb"], res["trl_padded"]
        row("train", f"{kind}: ft_nb real tokens/s", round(f["real_tok_s"], 1))
        row("train", f"{kind}: TRL SFTTrainer (padded) real tokens/s", round(t["real_tok_s"], 1))
        row("train", f"{kind}: ft_nb / TRL tokens/s", round(f["real_tok_s"]/t["real_tok_s"], 2), "target ≥ 2.0")
        row("train", f"{kind}: ft_nb peak memory (MB)", round(f["peak_mem_mb"]))
        row("train", f"{kind}: ft_nb / TRL peak memory", round(f["peak_mem_mb"]/t["peak_mem_mb"], 2), "target ≤ 0.6")
    row("train", "QLoRA / LoRA tokens/s (ft_nb)", round(out[True]["ft_nb"]["real_tok_s"]/out[False]["ft_nb"]["real_tok_s"], 2))

def _peft_model(c:Ctx, model_name=None, attn=None, config=None):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    from ft_nb.core import torch_dtype
    dt = torch_dtype(c.prec)
    if config is not None:
        if attn: config._attn_implementation = attn
        m = AutoModelForCausalLM.from_config(config, dtype=dt)
    else:
        from ft_nb.models import load_model_and_tokenizer
        kw = dict(attn_implementation=attn) if attn else {}
        try: m, _ = load_model_and_tokenizer(model_name or c.model, device=c.device, precision=c.prec, **kw)
        except TypeError: m, _ = load_model_and_tokenizer(model_name or c.model, device=c.device, precision=c.prec)
    m = m.to(c.device)
    m.config.use_cache = False
    return get_peft_model(m, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"))

def _step_time(c:Ctx, model, batch:int, seq:int, steps:int, warmup:int=2)->float:
    "Seconds per forward+backward+optimizer step on random tokens (after `warmup` steps)."
    import torch
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, model.config.vocab_size, (batch, seq), generator=g).to(c.device)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    def step():
        loss = model(input_ids=x, labels=x).loss; loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    for _ in range(warmup): step()
    if c.device == "cuda": torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps): step()
    if c.device == "cuda": torch.cuda.synchronize()
    return (time.perf_counter() - t)/steps

def sec_attention(c:Ctx):
    import importlib.util
    b, s, n = (2, 64, 2) if c.smoke else (8, 1024, 10)
    base = None
    for attn in ("sdpa", "eager", "flash_attention_2"):
        if attn == "flash_attention_2" and (c.device != "cuda" or importlib.util.find_spec("flash_attn") is None):
            row("attention", f"{attn} tokens/s", "n/a", "needs CUDA and the flash-attn package"); continue
        dt = _step_time(c, _peft_model(c, attn=attn), b, s, n)
        tps = b*s/dt
        base = base or tps
        row("attention", f"{attn} tokens/s (LoRA fwd+bwd, {b}x{s})", round(tps, 1),
            "" if attn == "sdpa" else f"{tps/base:.2f}x SDPA")

def sec_compile(c:Ctx):
    import torch
    b, s, n = (2, 64, 2) if c.smoke else (8, 1024, 10)
    t_eager = _step_time(c, _peft_model(c), b, s, n)
    m = _peft_model(c)
    m.base_model.model = torch.compile(m.base_model.model, backend="eager" if c.smoke else "inductor")
    t_comp = _step_time(c, m, b, s, n, warmup=3)
    row("compile", "step time without torch.compile (ms)", round(1000*t_eager, 1))
    row("compile", "step time with torch.compile (ms)", round(1000*t_comp, 1),
        ("backend 'eager' (smoke)" if c.smoke else "inductor") + f"; {t_eager/t_comp:.2f}x")

def sec_mfu(c:Ctx):
    from transformers import LlamaConfig
    if c.smoke: cfg, (b, s, n) = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                            num_attention_heads=4, num_key_value_heads=2, vocab_size=1024), (2, 64, 2)
    else: cfg, (b, s, n) = LlamaConfig(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                                      num_attention_heads=32, num_key_value_heads=8, vocab_size=32000,
                                      max_position_embeddings=4096), (8, 1024, 10)
    m = _peft_model(c, attn="sdpa", config=cfg)
    n_params = sum(p.numel() for p in m.parameters())
    dt = _step_time(c, m, b, s, n)
    L, h = cfg.num_hidden_layers, cfg.hidden_size
    # frozen base: forward 2N + attention 4·L·s·h per token; backward computes activation gradients only (≈ forward)
    flops_per_token = 2*(2*n_params + 4*L*s*h)
    tflops = b*s*flops_per_token/dt/1e12
    row("mfu", "model parameters (M)", round(n_params/1e6, 1), f"Llama config, random weights, {b}x{s} tokens")
    row("mfu", "achieved TFLOP/s (LoRA training)", float(f"{tflops:.4g}"), "model FLOPs: 4N + 8·L·s·h per token")
    import torch
    peak = peak_tflops(torch.cuda.get_device_name(0)) if c.device == "cuda" else None
    row("mfu", "MFU (bf16 dense peak)", round(tflops/peak, 3) if peak else "n/a",
        f"peak {peak} TFLOP/s" if peak else "no peak figure for this device")

def _adapter(c:Ctx)->Path:
    "A briefly trained LoRA adapter on the check's model (shared by generate and demo-free sections)."
    if c.adapter: return c.adapter
    from ft_nb.core import load_config
    from ft_nb.training import LoRATrainer
    out = c.work/"adapter"
    cfg = load_config(dict(model_name=c.model, dataset="demo", val_fraction=0.02, max_seq_len=256, method="lora",
                           lora_r=8, target_modules=["q_proj", "v_proj"], max_steps=2 if c.smoke else 20,
                           per_device_batch_size=4 if c.smoke else 16, report_to="none", output_dir=str(out),
                           logging_steps=1, precision=c.prec, device=c.device, seed=0))
    LoRATrainer(cfg).train()
    c.adapter = out
    return out

def sec_generate(c:Ctx):
    from ft_nb.inference import LoRAInference
    from ft_nb.data import load_records
    ad = _adapter(c)
    n, new = (4, 8) if c.smoke else (64, 64)
    recs = load_records("demo:test")[:n]
    prompts = [f"{r['instruction']}\n\n{r['input']}" for r in recs]
    inf = LoRAInference(c.model, str(ad), device=c.device, precision=c.prec)
    for bs in (1, n):
        t = time.perf_counter()
        outs = inf.batch_generate(prompts, max_new_tokens=new, batch_size=bs, progress=False, return_details=True)
        dt = time.perf_counter() - t
        toks = sum(o["completion_tokens"] for o in outs)
        row("generate", f"batch {bs}: generated tokens/s ({c.prec})", round(toks/dt, 1), f"{n} prompts, ≤{new} new tokens")
    from ft_nb.deploy import merge_into_base
    rep = merge_into_base(ad, c.work/"merged", precision=c.prec, device=c.device, model_card=False)
    row("generate", f"merge parity: max abs logit difference ({c.prec})", rep["parity_max_abs_diff"],
        f"merged vs adapter; tolerance {rep.get('tol', rep.get('parity_tol', '?'))}")

def sec_demo(c:Ctx):
    if c.smoke:
        row("demo", "ft-nb demo", "skipped", "--cpu-smoke: the real-model demo takes minutes on a CPU"); return
    from ft_nb.cli import main
    out = c.work/"demo"
    t = time.perf_counter()
    code = main(["demo", "--out", str(out)])
    row("demo", "ft-nb demo exit status", code)
    row("demo", "ft-nb demo wall time (s)", round(time.perf_counter() - t, 1))
    for f in out.rglob("comparison.md"):
        for line in f.read_text().splitlines():
            if line.startswith("|") and ("base" in line or "tuned" in line): row("demo", "table", line.strip())

DEMO_LABELS = ["billing", "refund", "shipping", "technical", "account", "cancellation", "product_info", "feedback"]

def _grpo_step_s(c:Ctx, name:str, use_vllm:bool)->float:
    "Median GRPO step time (s) after the first step, on the demo's tickets with the label reward."
    import statistics
    from ft_nb.rl import RLTrainer
    steps = 2 if c.smoke else 6
    train = ROOT/"ft_nb"/"assets"/"demo_task"/"train.jsonl"       # no validation split: step time only
    cfg = dict(model_name=c.model, dataset=str(train), val_fraction=0, max_seq_len=256, method="lora", lora_r=8,
               target_modules=["q_proj", "v_proj"], max_steps=steps, per_device_batch_size=4 if c.smoke else 8,
               learning_rate=2e-5, report_to="none", output_dir=str(c.work/name), logging_steps=1,
               save_steps=steps, precision=c.prec, device=c.device, seed=0, labels=DEMO_LABELS,
               metrics=["accuracy"])
    g = dict(rewards=["accuracy"], num_generations=2 if c.smoke else 4, max_completion_length=8,
             use_vllm=use_vllm)
    t = RLTrainer(cfg, g)
    t.train()
    times = [h["step_time"] for h in t.hf_trainer.state.log_history if "step_time" in h]
    return statistics.median(times[1:] or times)

def sec_grpo(c:Ctx):
    import importlib.util
    row("grpo", "step time, generation in the trainer (s)", round(_grpo_step_s(c, "grpo_hf", False), 3),
        "8 completions of ≤ 8 tokens a step" if not c.smoke else "toy size")
    if importlib.util.find_spec("vllm") is None or c.device != "cuda":
        from ft_nb.rl import RLError
        try: _grpo_step_s(c, "grpo_vllm", True)
        except RLError as e: row("grpo", "use_vllm", "refused", str(e)[:120])
        else: row("grpo", "use_vllm", "ERROR", "ran without CUDA or vLLM: it should have been refused")
        return
    row("grpo", "step time, generation in vLLM (s)", round(_grpo_step_s(c, "grpo_vllm", True), 3), "colocate")

SECTIONS = dict(env=sec_env, train=sec_train, attention=sec_attention, compile=sec_compile, mfu=sec_mfu,
                generate=sec_generate, grpo=sec_grpo, demo=sec_demo)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu-smoke", action="store_true", help="every section at toy size on the CPU (for CI)")
    ap.add_argument("--model", default="smollm2-135m-instruct", help="model of the train/attention/generate sections")
    ap.add_argument("--only", default="", help="comma-separated sections (default: all)")
    ap.add_argument("--out", default="gpu_check.json", help="where to write the table as JSON")
    a = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1"); os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    c = Ctx(a)
    names = [s for s in (a.only.split(",") if a.only else SECTIONS) if s]
    bad = [s for s in names if s not in SECTIONS]
    if bad: ap.error(f"unknown section(s) {bad}; choose from {list(SECTIONS)}")
    print(f"ft_nb GPU check on {c.device} ({c.prec}){' — CPU smoke run' if c.smoke else ''}", flush=True)
    t0, failed = time.time(), []
    for s in names:
        t = time.time()
        try: SECTIONS[s](c)
        except Exception as e:
            failed.append(s); row(s, "ERROR", f"{type(e).__name__}: {str(e)[:300]}")
            traceback.print_exc()
        row(s, "section time (s)", round(time.time() - t, 1))
        res = dict(device=c.device, precision=c.prec, smoke=c.smoke, wall_s=round(time.time() - t0, 1),
                   failed=failed, done=names[:names.index(s) + 1], rows=ROWS)
        Path(a.out).write_text(json.dumps(res, indent=1, default=str))   # after every section: a killed run keeps them
    print(f"\n| section | measure | value | note |\n|---|---|---|---|")
    for r in ROWS: print(f"| {r['section']} | {r['measure']} | {_fmt(r['value'])} | {r['note']} |")
    print(f"\n{len(names) - len(failed)} of {len(names)} sections passed in {res['wall_s']} s; table: {a.out}")
    return 1 if failed else 0

if __name__ == "__main__": sys.exit(main())
