#!/usr/bin/env python
"""Merge benchmark: merged vs base latency, unmerged adapter vs merged latency, merge parity.

    python bench/merge_bench.py                       # SmolLM2-135M-Instruct, a random LoRA r=16 on q,v
    python bench/merge_bench.py --model tiny-llama    # seconds, for checking the script
    python bench/merge_bench.py --adapter runs/demo   # a trained adapter instead of a random one

A merged model has exactly the base's architecture, so its latency should match the base's (target: within 5%); an
unmerged LoRA adds two small matmuls per adapted layer on every token. The three models (plain base, merged, base +
unmerged adapter) answer the same prompts with the same tokenizer, timed in interleaved rounds so that a busy machine
slows all of them alike; the median of the rounds is reported. Latencies are per generated token on answers of exactly
--max-new-tokens tokens. `bench/inference_bench.py` runs `bench_merged` as its last section.
"""
from __future__ import annotations
import argparse, shutil, statistics, sys, tempfile
from pathlib import Path

import torch

def _inference_bench():
    "bench/inference_bench.py, for its prompts, random adapter and per-token latency (one definition of each)."
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import inference_bench
    return inference_bench

def _precision(inf)->str:
    return {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}.get(next(inf.model.parameters()).dtype,
                                                                                      "fp32")

def bench_merged(
    ctx:dict,      # inf (LoRAInference with the adapter active), base (name), adapter_dir, prompts, max_new_tokens,
                   # latency_prompts (default 8), latency (optional; default: inference_bench.latency)
    rounds:int=3,  # interleaved timing rounds
)->list:
    "Rows (label, value): merge parity, merged vs plain base and unmerged adapter vs merged latency."
    from ft_nb.deploy import merge_into_base
    from ft_nb.inference import LoRAInference
    inf, n, lat = ctx["inf"], ctx["max_new_tokens"], ctx.get("latency") or _inference_bench().latency
    ps = ctx["prompts"][:ctx.get("latency_prompts", 8)]
    tmp = Path(tempfile.mkdtemp(prefix="ft_nb_bench_merge_"))
    try:
        dev, prec = str(inf.device), _precision(inf)
        rep = merge_into_base(ctx["adapter_dir"], tmp/"merged", base_model=ctx["base"], device=dev, model_card=False)
        plain = LoRAInference(ctx["base"], None, device=dev, precision=prec)
        merged = LoRAInference(str(tmp/"merged"), None, device=dev, precision=prec)
        plain.tokenizer, merged.tokenizer = inf.tokenizer, inf.tokenizer     # same prompts, same tokens for all three
        for x in (plain, merged):
            x.chat_template, x.system_prompt, x._eos_ids = inf.chat_template, inf.system_prompt, inf._eos_ids
        same = merged.generate(ps[0], n, adapter=None) == inf.generate(ps[0], n)
        for m, a in ((plain, None), (merged, None), (inf, "active")): lat(m, ps[:1], n, a)     # warm-up
        r = {"base": [], "merged": [], "unmerged": []}
        for _ in range(rounds):
            r["base"].append(lat(plain, ps, n, None)); r["merged"].append(lat(merged, ps, n, None))
            r["unmerged"].append(lat(inf, ps, n, "active"))
        b, m, u = (statistics.median(r[k]) for k in ("base", "merged", "unmerged"))
        return [("merge parity (max |Δlogit|, fp32)", f"{rep['parity_max_abs_diff']:8.2e}   (tol {rep['tol']:.0e})"),
                ("merged answers = adapter's (greedy)", f"{'yes' if same else 'NO'}"),
                ("base latency (plain model)", f"{b:8.2f} ms/token"), ("merged latency", f"{m:8.2f} ms/token"),
                ("merged / base", f"{m/b:8.3f}x   (target <= 1.05x; {rounds} interleaved rounds)"),
                ("unmerged adapter latency", f"{u:8.2f} ms/token"), ("unmerged / merged", f"{u/m:8.3f}x")]
    finally: shutil.rmtree(tmp, ignore_errors=True)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct", help="base model (default: SmolLM2-135M-Instruct)")
    ap.add_argument("--adapter", help="a trained adapter directory (default: a random LoRA r=16 on q,v)")
    ap.add_argument("--prompts", type=int, default=8, help="prompts timed per round")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args(argv)
    if args.threads: torch.set_num_threads(args.threads)
    ib = _inference_bench()
    from ft_nb.inference import LoRAInference
    tmp = Path(tempfile.mkdtemp(prefix="ft_nb_bench_"))
    try:
        adapter = Path(args.adapter) if args.adapter else ib.random_lora(args.model, tmp/"lora")
        inf = LoRAInference(args.model, adapter, device="cpu" if not torch.cuda.is_available() else None)
        ctx = dict(inf=inf, base=args.model, adapter_dir=adapter, prompts=ib.make_prompts(args.prompts),
                   max_new_tokens=args.max_new_tokens, latency_prompts=args.prompts)
        print(f"## Merged vs base, unmerged vs merged ({args.model}, {args.max_new_tokens} tokens per answer)")
        for label, value in bench_merged(ctx, rounds=args.rounds): print(f"{label:40} {value}")
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == "__main__": main()
