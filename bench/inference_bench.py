#!/usr/bin/env python
"""Inference benchmark: batched vs sequential generation throughput, and adapter latency.

    python bench/inference_bench.py                       # SmolLM2-135M-Instruct, 32 prompts, random LoRA r=16 on q,v
                                                          # (~9 min on 2 CPU cores)
    python bench/inference_bench.py --model tiny-llama    # seconds, for checking the script
    python bench/inference_bench.py --adapter runs/demo   # a trained adapter instead of a random one

Every figure is a ratio against a baseline measured in the same run on the same machine:
- batched vs sequential: the same 32 prompts answered one at a time (`generate`) and in length-sorted left-padded
  batches (`batch_generate`); both decode greedily, so they produce the same tokens (checked) and the ratio of
  tokens/s is the speed-up. Target >= 6x. Run on two workloads: short chat questions (decode-dominated, where batching
  pays) and the demo task's ~100-token tickets with one-word answers (prompt processing, which batching cannot speed up
  on a CPU that is already compute-bound, is then most of the work).
- unmerged adapter vs base: single-prompt latency per generated token with the LoRA adapter active vs disabled.
  Latencies are measured on answers of exactly --max-new-tokens tokens (`ignore_eos`): models that stop at different
  points would otherwise spread the prompt's cost over different numbers of tokens.
- merged vs base / unmerged vs merged: the section at the end, `bench_merged` of bench/merge_bench.py.
"""
from __future__ import annotations
import argparse, statistics, sys, tempfile, time
from pathlib import Path

import torch

def make_prompts(n:int, prompt_set:str="demo")->list[str]:
    "n prompts: the bundled demo task's test inputs ('demo', ~100 tokens each) or short built-in questions ('short')."
    texts = []
    if prompt_set == "demo":
        try:
            from ft_nb.data import demo_task_paths, load_records
            for r in load_records(demo_task_paths()["test"]):
                parts = [x for x in (r.get("instruction"), r.get("input")) if x]
                texts.append("\n\n".join(parts) or r.get("prompt", ""))
        except Exception as e: print(f"(demo task unavailable: {e}; using the short questions)")
    base = ["What are the benefits of LoRA fine-tuning?", "Name three primary colours.",
            "Explain in one paragraph why the sky is blue, as if to a ten-year-old child who asks a lot of questions.",
            "Translate to French: good morning", "Write a haiku about autumn leaves.", "What is 17 times 3?",
            "Summarise: The meeting covered the quarterly budget, hiring plans for the data team, and the office move "
            "scheduled for next spring. Everyone agreed to revisit the budget in two weeks.", "Is a tomato a fruit?"]
    texts = [t for t in texts if t] or base
    return [texts[i % len(texts)] for i in range(n)]

def random_lora(base:str, out:Path, r:int=16, seed:int=0)->Path:
    "Save a LoRA adapter (r, q/v) with random weights for `base` (a fresh LoRA is the identity: it would flatter)."
    from peft import LoraConfig, get_peft_model
    from ft_nb.models import load_model_and_tokenizer
    model, tok = load_model_and_tokenizer(base, device="cpu", precision="fp32")
    lcfg = LoraConfig(r=r, lora_alpha=2*r, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    pm = get_peft_model(model, lcfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if "lora_B" in n: p.copy_(torch.randn(p.shape, generator=g)*0.01)
    pm.save_pretrained(str(out)); tok.save_pretrained(str(out))
    return out

def timed(fn, repeat:int=1):
    "Median wall time of fn() over `repeat` runs, and its last result."
    ts, res = [], None
    for _ in range(repeat):
        t = time.perf_counter(); res = fn(); ts.append(time.perf_counter()-t)
    return statistics.median(ts), res

def bench_batched(ctx)->list:
    "Batched vs sequential throughput on the same prompts (greedy, same tokens)."
    inf, prompts, n = ctx["inf"], ctx["prompts"], ctx["max_new_tokens"]
    ie = ctx["args"].ignore_eos
    inf.generate(prompts[0], n)   # warm-up
    ts, seq = timed(lambda: [inf.generate(p, n, return_details=True, ignore_eos=ie) for p in prompts])
    tb, bat = timed(lambda: inf.batch_generate(prompts, n, batch_size=ctx["batch_size"], progress=False,
                                               return_details=True, ignore_eos=ie))
    toks = sum(r["completion_tokens"] for r in seq)
    same = sum(a["token_ids"] == b["token_ids"] for a, b in zip(seq, bat))
    ptoks = sum(r["prompt_tokens"] for r in seq)
    return [("workload", f"{ptoks/len(seq):.0f} prompt tokens and {toks/len(seq):.1f} answer tokens per prompt on "
                         "average (prompt processing costs the same in both modes; batching speeds up token-by-token "
                         "decoding)"),
            (f"sequential ({len(prompts)} prompts, batch 1)", f"{toks/ts:8.1f} tokens/s  ({ts:.1f} s)"),
            (f"batched (batch_size {ctx['batch_size']}, length-sorted)", f"{toks/tb:8.1f} tokens/s  ({tb:.1f} s)"),
            ("batched / sequential", f"{ts/tb:8.2f}x   (target >= 6x; identical answers: {same}/{len(prompts)})")]

def latency(inf, prompts, n, adapter)->float:
    "Median single-prompt latency per generated token (ms) of `adapter` ('active', or None: the base); `n` tokens each."
    per = []
    for p in prompts:
        t = time.perf_counter(); r = inf.generate(p, n, adapter=adapter, return_details=True, ignore_eos=True)
        per.append((time.perf_counter()-t)*1000/max(1, r["completion_tokens"]))
    return statistics.median(per)

def bench_adapter(ctx)->list:
    "Unmerged LoRA adapter vs base: single-prompt latency per token."
    inf, ps, n = ctx["inf"], ctx["prompts"][:ctx["latency_prompts"]], ctx["max_new_tokens"]
    latency(inf, ps[:1], n, None)   # warm-up
    lb, la = latency(inf, ps, n, None), latency(inf, ps, n, "active")
    ctx["latency_ms_per_token"] = dict(base=lb, unmerged=la)
    return [("base latency", f"{lb:8.2f} ms/token"), ("unmerged adapter latency", f"{la:8.2f} ms/token"),
            ("unmerged / base", f"{la/lb:8.3f}x")]

SECTIONS = [("Batched vs sequential generation", bench_batched), ("Unmerged adapter vs base", bench_adapter)]

# ---- merged vs base, unmerged vs merged: bench/merge_bench.py's section --------------------------------------------
# bench_merged(ctx) -> list of (label, value) rows. ctx holds: inf (LoRAInference with the adapter loaded), base (name),
# adapter_dir, prompts, max_new_tokens, latency_prompts, batch_size, latency_ms_per_token (from bench_adapter), args,
# and the helper `latency(inf, prompts, n, adapter)`.
def bench_merged(ctx)->list:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try: from merge_bench import bench_merged as f
    except ImportError as e: return [("merged vs base", f"skipped: bench/merge_bench.py not usable ({e})")]
    finally: sys.path.pop(0)
    return f(ctx)

SECTIONS.append(("Merged vs base, unmerged vs merged", bench_merged))
# ---- end of the merge section ----------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct",
                    help="base model (default: the built-in SmolLM2-135M-Instruct)")
    ap.add_argument("--adapter", help="a trained adapter directory (default: a random LoRA r=16 on q,v)")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--prompt-set", choices=["both", "demo", "short"], default="both",
                    help="batched vs sequential on short: one-line questions (decode-dominated), demo: the bundled "
                         "task's test inputs (~100 prompt tokens, prompt-dominated), or both (default); latencies use "
                         "the demo inputs")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--latency-prompts", type=int, default=8)
    ap.add_argument("--ignore-eos", action="store_true",
                    help="batched vs sequential: every answer exactly --max-new-tokens long (vLLM's throughput "
                         "setting); latencies always use fixed-length answers, so that base, merged and adapter "
                         "compare per token")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--only", nargs="*", help="run only sections whose title contains one of these words")
    args = ap.parse_args(argv)
    if args.threads: torch.set_num_threads(args.threads)
    from ft_nb.inference import LoRAInference
    tmp = Path(tempfile.mkdtemp(prefix="ft_nb_bench_"))
    adapter = Path(args.adapter) if args.adapter else random_lora(args.model, tmp/"lora")
    t = time.perf_counter()
    inf = LoRAInference(args.model, adapter, device="cpu" if not torch.cuda.is_available() else None,
                        allow_base_mismatch=not args.adapter)
    print(f"model {args.model} + adapter {adapter} loaded in {time.perf_counter()-t:.1f} s on {inf.device}; "
          f"torch threads {torch.get_num_threads()}, {args.prompts} prompts, {args.max_new_tokens} new tokens each")
    sets = ["short", "demo"] if args.prompt_set == "both" else [args.prompt_set]
    ctx = dict(inf=inf, base=args.model, adapter_dir=adapter, args=args, latency=latency,
               max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, latency_prompts=args.latency_prompts)
    for title, fn in SECTIONS:
        if args.only and not any(w.lower() in title.lower() for w in args.only): continue
        for ps in (sets if fn is bench_batched else [sets[-1]]):
            ctx["prompts"] = make_prompts(args.prompts, ps)
            print(f"\n## {title}" + (f" ({ps} prompts)" if fn is bench_batched else ""))
            for label, value in fn(ctx): print(f"  {label:<48} {value}")

if __name__ == "__main__":
    sys.exit(main())
