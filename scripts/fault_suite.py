#!/usr/bin/env python
"""Fault injection for ft_nb (issue 11, "What it must show"): SIGKILL at seeded random points of a tiny training run and
during its final save, SIGKILL during batch inference, and a full disk (a small tmpfs) during training.

Every run is `ft_nb.cli.main(argv)` in a process forked from a "zygote" that imported ft_nb once (a fresh
`python -m ft_nb.cli` would spend most of the suite's time importing torch). Inside the forked run, hooks count the
*events* of the run -- a training step, a file opened for writing under the run's folder, a safetensors / torch.save /
tokenizer save, a rename, a directory removal, a `generate` call -- and at the chosen event the process damages what it
was doing (the file it was writing is cut to half its size, a directory being removed loses its weights first) and
SIGKILLs itself. A counting run gives the events of an uninterrupted run; the kill points are drawn from them with a
seed (`--seed`, env `FT_NB_FAULT_SEED`), so a failure can be replayed.

What each scenario checks:
- training: the killed run exits by SIGKILL; whatever the run directory then holds, `read_run` (ft_nb.runs) either
  refuses it or it *is* the finished adapter; `resume: true` (or the one thing its message says to do) finishes the run;
  the adapter equals the uninterrupted run's (max |diff| <= 1e-6); no `.partial-*` or `.tmp` is left; no traceback.
- inference: `ft-nb infer --input --output` killed and rerun answers every input exactly once, in order, with the same
  answers as an uninterrupted run; no `.tmp` left; no answer already written is generated again (total `generate`
  calls <= rows + kills).
- full disk: a tmpfs is filled after the first checkpoint; the run stops with a clear one-line error (no traceback),
  the last good checkpoint is intact, and after freeing space `resume` finishes with the same adapter.

- merge: `ft-nb merge --overwrite` killed at seeded random points leaves the old output or the new one, whole (never a
  mix, never nothing), and a rerun finishes without leaving `.partial-*` directories.

- prepare: `ft-nb prepare` killed while it writes its data cache or `--out`: the rerun writes the same token ids and
  labels as an uninterrupted run (a half-written cache entry is never used) and leaves no `.partial-*` behind.

- tune: `ft-nb tune` killed during a trial and during the journal append: the rerun finishes the study, every trial
  finished before the kill is kept as it was, and a torn journal line is set aside (`<journal>.torn`), never fatal.

- prefer: `ft-nb prefer` (DPO on the tiny model) killed before its first checkpoint, between checkpoints and in its
  final save: resume (or the one thing its message says to do) ends with the uninterrupted run's adapter.

- merge-adapters: killed at seeded points, and with `--overwrite` just after the old output was moved aside: `--out` is
  absent or a whole adapter `read_run` accepts, the parents are unchanged, and a rerun gives the uninterrupted result.

Usage: python scripts/fault_suite.py [--seed N] [--only train,infer,prepare,merge,disk,tune,prefer,merge-adapters]
       [--keep DIR]
Prints one line per scenario; exit status 1 if any failed. tests/test_faults.py runs the same scenarios under pytest.
"""
from __future__ import annotations
import argparse, builtins, io, json, math, os, random, re, shutil, signal, subprocess, sys, tempfile, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOL = 1e-6
ENV = dict(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", TQDM_DISABLE="1", PYTHONWARNINGS="ignore", TRANSFORMERS_VERBOSITY="error", OMP_NUM_THREADS="1")
MAX_STEPS, SAVE_STEPS = 6, 2
RUN_TIMEOUT = int(os.environ.get("FT_NB_FAULT_TIMEOUT", 240))   # seconds one forked run may take (a hang is a failure)

def demo_file(split:str="train")->Path:
    "The bundled demo task's `split` JSONL (wherever the data owner keeps it under ft_nb/assets)."
    hits = sorted((ROOT/"ft_nb"/"assets").rglob(f"{split}.jsonl"))
    if not hits: raise FileNotFoundError(f"no bundled {split}.jsonl under {ROOT/'ft_nb'/'assets'}")
    return hits[0]

def train_config(output_dir, data)->dict:
    "The tiny training run every training scenario repeats: 6 steps, a checkpoint every 2, dropout on (RNG restored)."
    return dict(model_name="tiny-llama", dataset=str(data), val_fraction=0.0, max_seq_len=128, max_steps=MAX_STEPS,
                save_steps=SAVE_STEPS, save_total_limit=2, learning_rate=1e-2, per_device_batch_size=4, lora_dropout=0.1,
                logging_steps=1, eval_on_start=False, device="cpu", precision="fp32", seed=0, report_to="none",
                output_dir=str(output_dir))

# ---------------------------------------------------------------------------------------------------------------------
# inside a forked run: count events, kill at one

class Injector:
    "Counts the events of one run (logged to a file) and SIGKILLs the process at the chosen one."
    def __init__(self, job:dict):
        self.n, self.kill = 0, job.get("kill")          # kill: {"at": k} (k-th event) or {"match": s, "nth": k}
        self.matched = 0
        self.root = os.path.abspath(job["root"]) if job.get("root") else None
        self.log = os.open(job["events"], os.O_WRONLY|os.O_CREAT|os.O_APPEND) if job.get("events") else None
        self.fill = job.get("fill_after_save"); self.fill_path = job.get("fill_path")
        self.poison = job.get("poison_at_step")      # NaN into a trainable weight before this step

    def rel(self, p)->str|None:
        "`p` relative to the run's folder, or None outside it (those writes are not events)."
        if self.root is None: return None
        try: p = os.path.abspath(os.fsdecode(p))
        except TypeError: return None
        return os.path.relpath(p, self.root) if p == self.root or p.startswith(self.root + os.sep) else None

    def event(self, name:str)->bool:
        "Record an event; True if the process must now do its damage and `die()`."
        self.n += 1
        if self.log is not None: os.write(self.log, f"{self.n}\t{name}\n".encode())
        k = self.kill or {}
        if "at" in k: return k["at"] == self.n
        if "match" in k and k["match"] in name:
            self.matched += 1
            return self.matched == k.get("nth", 1)
        return False

    def die(self):
        if self.log is not None: os.write(self.log, b"KILLED\n")
        for s in (sys.stdout, sys.stderr):
            try: s.flush()
            except Exception: pass
        os.kill(os.getpid(), signal.SIGKILL)

def _halve(path, start:int=0):
    "Cut what was written to `path` after byte `start` to half (a write interrupted part-way)."
    try: os.truncate(path, start + (os.path.getsize(path) - start)//2)
    except OSError: pass

class _Dying:
    "A file opened for writing at the kill event: written normally, then cut to half its size, then SIGKILL."
    def __init__(self, f, path, inj, start=0): self._f, self._path, self._inj, self._start = f, path, inj, start
    def __getattr__(self, k): return getattr(self._f, k)
    def __iter__(self): return iter(self._f)
    def __enter__(self): return self
    def __exit__(self, *a): self.close()
    def close(self):
        try: self._f.close()
        except OSError: pass
        _halve(self._path, self._start); self._inj.die()

def _patch_everywhere(orig, new):
    "Replace every module-level reference to `orig` (e.g. `from safetensors.torch import save_file as x`) by `new`."
    for m in list(sys.modules.values()):
        d = getattr(m, "__dict__", None)
        if not isinstance(d, dict): continue
        for k, v in list(d.items()):
            if v is orig:
                try: setattr(m, k, new)
                except Exception: pass

def install(inj:Injector):
    "The hooks of one forked run."
    real_open = io.open
    def open_(file, mode="r", *a, **kw):
        f = real_open(file, mode, *a, **kw)
        if any(c in mode for c in "wax+"):
            path = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else file
            rel = inj.rel(path)
            if rel is not None and inj.event(f"write {rel}"):
                return _Dying(f, path, inj, os.path.getsize(path) if "a" in mode else 0)
        return f
    _patch_everywhere(real_open, open_)
    builtins.open = io.open = open_

    for name in ("replace", "rename"):
        real = getattr(os, name)
        def mv(src, dst, *a, _real=real, _name=name, **kw):
            rs, rd = inj.rel(src), inj.rel(dst)
            if (rs or rd) and inj.event(f"{_name} {rs} -> {rd}"): inj.die()
            return _real(src, dst, *a, **kw)
        _patch_everywhere(real, mv); setattr(os, name, mv)

    real_rmtree = shutil.rmtree
    def rmtree(path, *a, **kw):
        rel = inj.rel(path)
        if rel is not None and inj.event(f"rmtree {rel}"):   # the hostile order: weights first, then the kill
            for p in Path(path).rglob("*"):
                if p.suffix in (".safetensors", ".bin", ".pt", ".pth"): p.unlink(missing_ok=True)
            inj.die()
        return real_rmtree(path, *a, **kw)
    rmtree.avoids_symlink_attacks = getattr(real_rmtree, "avoids_symlink_attacks", False)
    _patch_everywhere(real_rmtree, rmtree); shutil.rmtree = rmtree

    def saver(real, what):
        def save(obj, f, *a, **kw):
            rel = inj.rel(f) if isinstance(f, (str, os.PathLike)) else None
            kill = rel is not None and inj.event(f"{what} {rel}")
            r = real(obj, f, *a, **kw)
            if kill: _halve(f); inj.die()
            return r
        return save
    import torch, safetensors.torch as st
    for mod, name, what in ((st, "save_file", "safetensors"), (torch, "save", "torch.save")):
        real = getattr(mod, name); new = saver(real, what)
        _patch_everywhere(real, new); setattr(mod, name, new)

    import transformers
    from transformers import Trainer
    tb = getattr(transformers, "PreTrainedTokenizerBase", None)
    if tb is not None and hasattr(tb, "save_pretrained"):
        real_tok = tb.save_pretrained
        def tok_save(self, save_directory, *a, **kw):
            rel = inj.rel(save_directory)
            kill = rel is not None and inj.event(f"tokenizer {rel}")
            r = real_tok(self, save_directory, *a, **kw)
            if kill: _halve(Path(save_directory)/"tokenizer.json"); inj.die()
            return r
        tb.save_pretrained = tok_save

    real_step = Trainer.training_step
    def training_step(self, *a, **kw):
        if inj.event(f"step {self.state.global_step + 1}"): inj.die()
        if inj.poison == self.state.global_step + 1:
            model = a[0] if a else kw["model"]
            with torch.no_grad(): next(p for p in model.parameters() if p.requires_grad).view(-1)[0] = float("nan")
        return real_step(self, *a, **kw)
    Trainer.training_step = training_step

    real_ck = Trainer._save_checkpoint
    def save_checkpoint(self, *a, **kw):
        if inj.event(f"checkpoint {self.state.global_step}"): inj.die()
        r = real_ck(self, *a, **kw)
        if inj.fill is not None and self.state.global_step == inj.fill: fill_disk(inj.fill_path)
        return r
    Trainer._save_checkpoint = save_checkpoint

    from transformers import GenerationMixin
    real_gen = GenerationMixin.generate
    def generate(self, *a, **kw):
        if inj.event("generate"): inj.die()
        return real_gen(self, *a, **kw)
    GenerationMixin.generate = generate

def fill_disk(path):
    "Fill the file system holding `path` (another process taking the space); leaves the file in place."
    fd = os.open(path, os.O_WRONLY|os.O_CREAT, 0o644)
    try:
        st = os.statvfs(os.path.dirname(path))
        try: os.posix_fallocate(fd, 0, max(st.f_bavail*st.f_frsize - 4096, 4096))
        except OSError: pass
        os.lseek(fd, 0, os.SEEK_END)
        block = b"\0"*4096
        while True:
            try: os.write(fd, block)
            except OSError: break
    finally: os.close(fd)

def _child(job:dict):
    "Body of a forked run: redirect output, install the hooks, run `ft_nb.cli.main(argv)`, exit with its status."
    for fd, key in ((1, "stdout"), (2, "stderr")):
        f = os.open(job[key], os.O_WRONLY|os.O_CREAT|os.O_TRUNC, 0o644); os.dup2(f, fd); os.close(f)
    os.chdir(job["cwd"])
    os.environ.update(job.get("env") or {})
    rc = 99
    try:
        import torch; torch.set_num_threads(1)
        install(Injector(job))
        from ft_nb.cli import main
        rc = main(list(job["argv"]))
        rc = rc if isinstance(rc, int) else 0
    except SystemExit as e: rc = e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()          # a raw traceback escaped ft_nb.cli.main: the test reports it
        rc = 99
    finally:
        for s in (sys.stdout, sys.stderr):
            try: s.flush()
            except Exception: pass
        os._exit(rc)

def zygote_main():
    "Import ft_nb once, then fork one run per JSON job read from stdin; answer one JSON line per job."
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)                      # import noise must not reach the protocol channel
    for m in ("torch", "transformers", "peft", "safetensors.torch", "datasets", "ft_nb.core", "ft_nb.models", "ft_nb.data",
              "ft_nb.training", "ft_nb.inference", "ft_nb.cli", "ft_nb.runs"):
        try: __import__(m)
        except Exception as e: print(f"fault_suite zygote: could not preload {m}: {type(e).__name__}: {e}", file=sys.stderr)
    proto.write(json.dumps(dict(ready=True)) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        t0 = time.time()
        pid = os.fork()
        if pid == 0:
            try: _child(job)
            finally: os._exit(98)
        timed_out, status = False, None
        while True:
            got, status = os.waitpid(pid, os.WNOHANG)
            if got: break
            if time.time() - t0 > job.get("timeout", 300):
                os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0); timed_out = True; status = None; break
            time.sleep(0.05)
        rc = None if status is None else (os.waitstatus_to_exitcode(status))
        proto.write(json.dumps(dict(rc=rc, timed_out=timed_out, seconds=round(time.time()-t0, 2))) + "\n")

# ---------------------------------------------------------------------------------------------------------------------
# the driving side

class Zygote:
    "A pre-imported python that forks one `ft_nb.cli.main(argv)` run per `run()`."
    def __init__(self):
        env = {**os.environ, **ENV, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.p = subprocess.Popen([sys.executable, "-u", __file__, "--zygote"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, cwd=str(ROOT), env=env)
        line = self.p.stdout.readline()
        if not line: raise RuntimeError("fault_suite: the zygote process died while importing ft_nb")

    def run(self, argv:list, cwd, name:str, **job)->dict:
        "Run `ft-nb argv` in a forked process; returns rc (negative: signal), stdout, stderr, events, seconds."
        cwd = Path(cwd)
        job = dict(argv=[str(a) for a in argv], cwd=str(cwd), stdout=str(cwd/f"{name}.out"), stderr=str(cwd/f"{name}.err"),
                   events=str(cwd/f"{name}.events"), root=str(job.pop("root", cwd)), **job)
        Path(job["events"]).unlink(missing_ok=True)
        self.p.stdin.write(json.dumps(job) + "\n"); self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line: raise RuntimeError("fault_suite: the zygote process died")
        r = json.loads(line)
        rd = lambda k: Path(job[k]).read_text(errors="replace") if Path(job[k]).exists() else ""
        ev = [l.split("\t", 1)[1] for l in rd("events").splitlines() if "\t" in l]
        err = rd("stderr") + (f"\n[fault_suite: no answer after {job['timeout']} s; the run was killed]" if r["timed_out"] else "")
        return dict(r, argv=job["argv"], stdout=rd("stdout"), stderr=err, events=ev, killed=r["rc"] == -signal.SIGKILL)

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            try: self.p.wait(10)
            except subprocess.TimeoutExpired: self.p.kill(); self.p.wait()

def _tail(s:str, n:int=400)->str: return s.strip()[-n:].replace("\n", " | ")

def has_traceback(s:str)->bool: return "Traceback (most recent call last)" in s

def _reader():
    "THE run-directory reader: ft_nb.runs.read_run (H1); before it lands, the old one in ft_nb.inference."
    try:
        from ft_nb.runs import read_run, RunError
        return read_run, RunError, "ft_nb.runs.read_run"
    except ImportError:
        from ft_nb.inference import read_run
        from ft_nb.core import FTError
        return read_run, FTError, "ft_nb.inference.read_run (ft_nb.runs not importable)"

def adapter_tensors(d)->dict:
    from safetensors.numpy import load_file
    return load_file(str(Path(d)/"adapter_model.safetensors"))

def max_diff(a:dict, b:dict)->float:
    import numpy as np
    if sorted(a) != sorted(b): return float("inf")
    return max((float(np.abs(a[k].astype("float64") - b[k].astype("float64")).max()) if a[k].size else 0.0)
               for k in a) if a else 0.0

def leftovers(d)->list:
    "Hidden temporaries a finished operation must not leave behind."
    d = Path(d)
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.name.startswith(".partial-") or p.name.endswith(".tmp"))

def _norm(ev:str)->str: return re.sub(r"\.partial-[^/ ]+", ".partial-*", ev)

class Suite:
    "The fault scenarios over one work folder; each scenario method returns a list of problems (empty: passed)."
    def __init__(self, workdir=None, seed:int|None=None, log=print):
        self.seed = int(os.environ.get("FT_NB_FAULT_SEED", 0)) if seed is None else seed
        self.work = Path(workdir or tempfile.mkdtemp(prefix="ft_nb_faults_")); self.work.mkdir(parents=True, exist_ok=True)
        self.log, self._z, self._ref, self._iref = log, None, None, None
        self.data = self.work/"train24.jsonl"
        if not self.data.exists():
            self.data.write_text("".join(demo_file("train").read_text(encoding="utf-8").splitlines(True)[:24]), encoding="utf-8")

    @property
    def z(self)->Zygote:
        if self._z is None: self._z = Zygote()
        return self._z

    def close(self):
        if self._z is not None: self._z.close(); self._z = None

    # --- training -------------------------------------------------------------------------------------------------
    def _cfg(self, d:Path, output_dir=None)->Path:
        import yaml
        d.mkdir(parents=True, exist_ok=True)
        p = d/"run.yaml"
        p.write_text(yaml.safe_dump(train_config(output_dir or d/"out", self.data), sort_keys=False))
        return p

    def train_reference(self)->dict:
        "The uninterrupted run (with its event list); raises if it does not finish."
        if self._ref is None:
            d = self.work/"train-ref"; shutil.rmtree(d, ignore_errors=True)
            cfg = self._cfg(d)
            r = self.z.run(["train", cfg], d, "run1", timeout=RUN_TIMEOUT)
            if r["rc"] != 0:
                raise AssertionError(f"the uninterrupted tiny training run failed (rc {r['rc']}): {_tail(r['stderr'], 1500)}")
            self._ref = dict(dir=d/"out", tensors=adapter_tensors(d/"out"), events=r["events"], seconds=r["seconds"])
        return self._ref

    def train_kill_points(self, n_random:int=5, n_final:int=2)->list[tuple[int,str]]:
        "Seeded kill points: `n_random` anywhere in the run, `n_final` during the final save (after the last checkpoint)."
        ev = self.train_reference()["events"]
        last_ck = max(i for i, e in enumerate(ev) if e.startswith("checkpoint "))
        final = [i for i, e in enumerate(ev) if i > last_ck and "checkpoints" not in e]
        rng = random.Random(self.seed)
        first_ck = min(i for i, e in enumerate(ev) if e.startswith("checkpoint "))
        early = rng.randrange(first_ck + 1)                 # one before the first checkpoint is complete (issue 11.7)
        pts = sorted([early] + rng.sample([i for i in range(len(ev)) if i != early], min(n_random, len(ev)) - 1))
        fin = sorted(rng.sample(final, min(n_final, len(final)))) if final else []
        return [(i + 1, _norm(ev[i])) for i in pts] + [(i + 1, _norm(ev[i]) + " [final save]") for i in fin]

    TARGETED = (("trainer_state.json", 2, "the second checkpoint's trainer_state.json half written (11.6)"),
                ("rmtree out/checkpoints/", 1, "an old checkpoint half deleted: weights gone, state left (11.6)"))
    def train_targeted(self)->list[dict]:
        "Kills aimed at the moments issue 11 names, whatever the seed draws."
        return [dict(match=m, nth=n, what=w) for m, n, w in self.TARGETED]

    def train_double_kill(self)->list[dict]:
        "A kill after the first checkpoint, then the resumed run killed while writing its first checkpoint's weights."
        ev = self.train_reference()["events"]
        first_ck = min(i for i, e in enumerate(ev) if e.startswith("checkpoint "))
        steps = [i for i, e in enumerate(ev) if e.startswith("step ") and i > first_ck]
        at = random.Random(self.seed + 3).choice(steps[:-1] or steps) + 1
        return [dict(at=at, what=_norm(ev[at - 1])), dict(match="safetensors", nth=1, what="resume: its first weights file")]

    def _resume(self, cfg:Path, d:Path, tag:str)->tuple[list, bool, dict]:
        "Finish an interrupted run: `resume: true`, or the one thing its refusal says to do. (problems, finished, result)"
        probs, r = [], self.z.run(["train", cfg, "--resume", "true"], d, f"resume{tag}", timeout=RUN_TIMEOUT)
        if has_traceback(r["stderr"]): probs.append(f"resume printed a raw traceback: {_tail(r['stderr'])}")
        if r["rc"] == 0: return probs, True, r
        msg = (r["stderr"].strip().splitlines() or [""])[-1]
        if r["rc"] != 2: return probs + [f"resume failed (rc {r['rc']}): {_tail(r['stderr'])}"], False, r
        if re.search(r"finished|already complete", msg, re.I): return probs, True, r
        if re.search(r"without .?resume", msg): argv = ["train", cfg]
        elif "overwrite_output_dir" in msg: argv = ["train", cfg, "--overwrite_output_dir", "true"]
        else: return probs + [f"resume refused with no way forward: {msg[:300]}"], False, r
        r2 = self.z.run(argv, d, f"advice{tag}", timeout=RUN_TIMEOUT)
        if has_traceback(r2["stderr"]): probs.append(f"raw traceback: {_tail(r2['stderr'])}")
        if r2["rc"] != 0:
            return probs + [f"resume said {msg[:200]!r}; doing that failed too (rc {r2['rc']}): {_tail(r2['stderr'], 300)}"], False, r2
        return probs, True, r2

    def check_looks_complete(self, out:Path)->list:
        "Whatever `out` holds after a kill: `read_run` refuses it, or it is exactly the finished adapter."
        read_run, RunError, which = _reader()
        if not out.exists() or not (out/"adapter_config.json").exists(): return []
        try: read_run(out)
        except RunError: return []
        except Exception as e: return [f"{which}({out.name}) crashed: {type(e).__name__}: {e}"[:400]]
        try: diff = max_diff(adapter_tensors(out), self.train_reference()["tensors"])
        except Exception as e:
            return [f"{which} accepted an incomplete run directory ({type(e).__name__} reading its weights: {str(e)[:150]})"]
        if diff > TOL: return [f"{which} accepted a run directory whose adapter is not the finished one (max diff {diff:.2e})"]
        return []

    def train_scenario(self, name:str, kills:list[dict])->list:
        "Kill successive runs at `kills` (each {'at': k} or {'match': s}); then finish and compare with the reference."
        ref = self.train_reference()
        d = self.work/f"train-{name}"; shutil.rmtree(d, ignore_errors=True)
        cfg, out, probs = self._cfg(d), d/"out", []
        for j, k in enumerate(kills):
            argv = ["train", cfg] if j == 0 else ["train", cfg, "--resume", "true"]
            r = self.z.run(argv, d, f"kill{j}", kill={kk: v for kk, v in k.items() if kk != "what"}, timeout=RUN_TIMEOUT)
            if not r["killed"]:
                return probs + [f"run {j+1} was meant to be killed at {k} but ended with rc {r['rc']} after "
                                f"{len(r['events'])} events: {_tail(r['stderr'])}"]
            probs += self.check_looks_complete(out)
        p, ok, r = self._resume(cfg, d, "")
        probs += p
        if not ok: return probs
        read_run, RunError, which = _reader()
        try: info = read_run(out)
        except Exception as e: return probs + [f"after recovery {which} refuses the run: {type(e).__name__}: {str(e)[:300]}"]
        try:
            diff = max_diff(adapter_tensors(out), ref["tensors"])
            if diff > TOL: probs.append(f"recovered adapter differs from the uninterrupted run: max |diff| {diff:.2e} > {TOL}")
        except Exception as e: probs.append(f"recovered adapter unreadable: {type(e).__name__}: {e}")
        man = getattr(info, "manifest", None) if not isinstance(info, dict) else info.get("manifest")
        steps = ((man or {}).get("result") or {}).get("steps")
        if steps is not None and steps != MAX_STEPS: probs.append(f"manifest says {steps} steps, the run has {MAX_STEPS}")
        if lo := leftovers(d): probs.append(f"left behind: {lo[:5]}")
        return probs

    # --- resuming a finished run ---------------------------------------------------------------------------------
    def _lrs(self, out:Path)->dict:
        "{step: learning_rate} logged by the run in `out` (report.json's log history)."
        try: h = json.loads((out/"report.json").read_text()).get("log_history") or []
        except (OSError, ValueError): return {}
        return {e["step"]: e["learning_rate"] for e in h if "learning_rate" in e and "step" in e}

    def resume_scenario(self, kind:str)->list:
        """`resume: true` on the finished reference run (11.2, 11.3): 'finished' (nothing to do: says so, changes
        nothing), 'extend' (max_steps 6 -> 8: two more steps, no step past 8), 'lr' (extend with a new learning_rate:
        applied and recorded, or refused by name)."""
        ref = self.train_reference()
        d = self.work/f"resume-{kind}"; shutil.rmtree(d, ignore_errors=True); d.mkdir(parents=True)
        shutil.copytree(ref["dir"], d/"out"); cfg = self._cfg(d)
        before = {p: (d/"out"/p).read_bytes() for p in ("adapter_model.safetensors", "ft_nb_manifest.json")}
        extra = {"finished": [], "extend": ["--max_steps", "8"], "lr": ["--max_steps", "8", "--learning_rate", "5e-3"]}[kind]
        r = self.z.run(["train", cfg, "--resume", "true", *extra], d, kind, timeout=RUN_TIMEOUT)
        probs = [f"raw traceback: {_tail(r['stderr'])}"] if has_traceback(r["stderr"]) else []
        msg = (r["stderr"].strip().splitlines() or [""])[-1]
        if kind == "finished":
            if r["rc"] not in (0, 2) or not re.search(r"finished|nothing to do|complete", r["stderr"] + r["stdout"], re.I):
                probs.append(f"resume of a finished run: rc {r['rc']}, and it does not say the run is finished: {msg[:300]!r}")
            if any((d/"out"/p).read_bytes() != b for p, b in before.items()): probs.append("resume of a finished run changed it")
            return probs
        if kind == "lr" and r["rc"] == 2:
            if "learning_rate" not in msg: probs.append(f"a refused learning_rate change does not name it: {msg[:300]!r}")
            return probs
        if r["rc"] != 0: return probs + [f"resume with {' '.join(extra)} failed (rc {r['rc']}): {_tail(r['stderr'])}"]
        try: man = json.loads((d/"out"/"ft_nb_manifest.json").read_text())
        except Exception as e: return probs + [f"no readable manifest after the resume: {e}"]
        steps = (man.get("result") or {}).get("steps")
        if steps != 8: probs.append(f"extended to max_steps 8, the manifest says {steps} steps")
        lrs = self._lrs(d/"out")
        if max(lrs, default=0) > 8: probs.append(f"trained past max_steps 8: logged steps {sorted(lrs)}")
        if max_diff(adapter_tensors(d/"out"), ref["tensors"]) == 0: probs.append("the extended adapter equals the 6-step one")
        if zero := [st for st in (7, 8) if lrs.get(st) == 0]:   # cosine over 8 steps is > 0 at steps 7 and 8
            probs.append(f"extended step(s) {zero} trained with learning_rate 0 (the finished {MAX_STEPS}-step schedule's "
                         f"end), not the new 8-step schedule's rate: logged {[(k, lrs[k]) for k in sorted(lrs)][-3:]}")
        if kind == "lr":
            text = json.dumps(man)
            if not ("0.005" in text and "0.01" in text):
                probs.append("the manifest does not record the learning_rate change (0.01 -> 0.005) at the resume")
            ext = self._lrs(self.work/"resume-extend"/"out")
            for st in (7, 8):
                if st in lrs and ext.get(st) and not math.isclose(lrs[st] / ext[st], 0.5, rel_tol=1e-3):
                    probs.append(f"learning_rate at step {st}: {lrs[st]:.3g}, want half of {ext[st]:.3g} (the changed "
                                 "rate was not applied as recorded)")
        return probs

    # --- NaN -------------------------------------------------------------------------------------------------------
    def nan_scenario(self, save_steps:int|None)->list:
        """A NaN put into a trainable weight before step 3 (11.1): the run stops with a clear error, no checkpoint or
        output holds a NaN, the checkpoint the message calls good is finite, and its advice (resume with a lower
        learning_rate) works."""
        import numpy as np
        d = self.work/f"nan-{save_steps}"; shutil.rmtree(d, ignore_errors=True)
        cfg, out = self._cfg(d), d/"out"
        r = self.z.run(["train", cfg, "--save_steps", "null" if save_steps is None else str(save_steps)], d, "nan",
                       poison_at_step=3, timeout=RUN_TIMEOUT)
        probs = [f"raw traceback: {_tail(r['stderr'])}"] if has_traceback(r["stderr"]) else []
        msg = (r["stderr"].strip().splitlines() or [""])[-1]
        if r["rc"] != 2: return probs + [f"a NaN weight: exit status {r['rc']}, want 2 and a clear error: {_tail(r['stderr'])}"]
        if not re.search(r"nan|not finite|non-finite|inf", msg, re.I): probs.append(f"the error does not say NaN: {msg[:300]!r}")
        for f in sorted(out.rglob("*.safetensors")):
            try: bad = [k for k, v in adapter_tensors(f.parent).items() if not np.isfinite(v).all()]
            except Exception as e: bad = [f"unreadable: {e}"]
            if bad: probs.append(f"{f.relative_to(d)} holds NaN/Inf ({bad[:2]})")
        probs += self.check_looks_complete(out)
        good = [c for c in (out/"checkpoints").glob("checkpoint-*")] if (out/"checkpoints").is_dir() else []
        if good:
            named = [c.name for c in good if c.name in msg]
            if not named: probs.append(f"the error names no last good checkpoint though {[c.name for c in good]} exist")
            r2 = self.z.run(["train", cfg, "--resume", "true", "--learning_rate", "5e-3", "--save_steps",
                             "null" if save_steps is None else str(save_steps)], d, "advice", timeout=RUN_TIMEOUT)
            if r2["rc"] != 0: probs.append(f"following the advice (resume with a lower learning_rate) failed (rc {r2['rc']}): "
                                          f"{_tail(r2['stderr'])}")
        elif not re.search(r"no good|none|before the first", msg, re.I):
            probs.append(f"no checkpoint was kept, but the error does not say so: {msg[:300]!r}")
        return probs

    # --- inference ------------------------------------------------------------------------------------------------
    N_ROWS = 10
    def _infer_argv(self, d:Path)->list:
        return ["infer", "--base", "tiny-llama", "--input", d/"in.jsonl", "--output", d/"answers.jsonl", "--max-new-tokens", "3",
                "--batch-size", "1", "--no-progress", "--device", "cpu", "--precision", "fp32"]

    def _infer_dir(self, name:str)->Path:
        d = self.work/f"infer-{name}"; shutil.rmtree(d, ignore_errors=True); d.mkdir(parents=True)
        rows = [json.loads(l) for l in demo_file("test").read_text(encoding="utf-8").splitlines()[:self.N_ROWS]]
        (d/"in.jsonl").write_text("".join(json.dumps(dict(id=i, prompt=r.get("input") or str(r)), ensure_ascii=False) + "\n"
                                          for i, r in enumerate(rows)), encoding="utf-8")
        return d

    def infer_reference(self)->dict:
        if self._iref is None:
            d = self._infer_dir("ref")
            r = self.z.run(self._infer_argv(d), d, "run1", timeout=RUN_TIMEOUT)
            if r["rc"] != 0: raise AssertionError(f"uninterrupted `ft-nb infer` failed (rc {r['rc']}): {_tail(r['stderr'], 1500)}")
            self._iref = dict(rows=[json.loads(l) for l in (d/"answers.jsonl").read_text().splitlines()], events=r["events"])
        return self._iref

    def infer_kill_points(self, n_random:int=3)->list[list[dict]]:
        "Seeded random kills, plus: the restart killed while it deals with the rows already written, and the final copy."
        ev = self.infer_reference()["events"]
        rng = random.Random(self.seed + 1)
        pts = [[dict(at=i + 1, what=_norm(ev[i]))] for i in sorted(rng.sample(range(len(ev)), min(n_random, len(ev))))]
        mid = next((i for i, e in enumerate(ev) if e == "generate"), 0) + 2 * 2   # a few rows in
        pts.append([dict(at=mid + 1, what=_norm(ev[mid])), dict(match="write", nth=1, what="restart: first write")])
        last_gen = max(i for i, e in enumerate(ev) if e == "generate")
        fin = [i for i in range(last_gen + 1, len(ev))] or [len(ev) - 1]   # after the last answer: the final ordering
        i = next((i for i in fin if ev[i].startswith("write") and (".tmp" in ev[i] or ".partial" in ev[i])), fin[-1])
        pts.append([dict(at=i + 1, what=_norm(ev[i]) + " [after the last answer]")])
        return pts

    def infer_scenario(self, name:str, kills:list[dict])->list:
        ref = self.infer_reference()["rows"]
        d, probs, gens = self._infer_dir(name), [], 0
        argv = self._infer_argv(d)
        for j, k in enumerate(kills):
            r = self.z.run(argv, d, f"kill{j}", kill={kk: v for kk, v in k.items() if kk != "what"}, timeout=RUN_TIMEOUT)
            gens += r["events"].count("generate")
            if not r["killed"]:
                return [f"run {j+1} was meant to be killed at {k['what']} but ended with rc {r['rc']}: {_tail(r['stderr'])}"]
        r = self.z.run(argv, d, "finish", timeout=RUN_TIMEOUT)
        gens += r["events"].count("generate")
        if has_traceback(r["stderr"]): probs.append(f"raw traceback: {_tail(r['stderr'])}")
        if r["rc"] != 0: return probs + [f"the rerun failed (rc {r['rc']}): {_tail(r['stderr'])}"]
        try: rows = [json.loads(l) for l in (d/"answers.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
        except Exception as e: return probs + [f"answers.jsonl unreadable after the rerun: {e}"]
        ids = [x.get("id") for x in rows]
        if ids != list(range(self.N_ROWS)): probs.append(f"inputs answered {ids} (want each of 0..{self.N_ROWS-1} once, in order)")
        elif [x.get("response") for x in rows] != [x.get("response") for x in ref]:
            probs.append("answers differ from the uninterrupted run's")
        if gens > self.N_ROWS + len(kills):
            probs.append(f"{gens} generations for {self.N_ROWS} rows and {len(kills)} kill(s): answers already written were "
                         f"thrown away and generated again")
        if lo := leftovers(d): probs.append(f"left behind: {lo}")
        return probs

    # --- ft-nb prepare (its data cache and --out) ------------------------------------------------------------------
    def _prep_dir(self, name:str)->tuple[Path, dict]:
        "A folder with a cache whose `data` part is empty (models and tokenizers linked from the real cache)."
        d = self.work/f"prepare-{name}"; shutil.rmtree(d, ignore_errors=True); (d/"cache"/"data").mkdir(parents=True)
        real = Path(os.environ.get("FT_NB_CACHE") or Path.home()/".cache"/"ft_nb").expanduser()
        for sub in ("tiny", "tokenizers", "models"):
            (real/sub).mkdir(parents=True, exist_ok=True); (d/"cache"/sub).symlink_to(real/sub)
        self._cfg(d)
        return d, dict(FT_NB_CACHE=str(d/"cache"))

    def _prep_argv(self, d:Path)->list: return ["prepare", d/"run.yaml", "--preview", "0", "--out", d/"prep"]

    def _prepared(self, d:Path)->dict:
        "The token ids and labels `ft-nb prepare` wrote, by split."
        from datasets import load_from_disk
        out = {}
        for p in sorted((d/"prep").iterdir()) if (d/"prep").is_dir() else []:
            if p.is_dir() and not p.name.startswith("."):
                ds = load_from_disk(str(p)); out[p.name] = [ds[c] for c in ("input_ids", "labels") if c in ds.column_names]
        return out

    def prepare_reference(self)->dict:
        if getattr(self, "_pref", None) is None:
            d, env = self._prep_dir("ref")
            r = self.z.run(self._prep_argv(d), d, "run1", env=env, timeout=RUN_TIMEOUT)
            if r["rc"] != 0: raise AssertionError(f"`ft-nb prepare` failed (rc {r['rc']}): {_tail(r['stderr'], 1500)}")
            self._pref = dict(events=r["events"], data=self._prepared(d))
            if not self._pref["data"]: raise AssertionError(f"`ft-nb prepare --out` wrote no splits: {sorted(os.listdir(d/'prep'))}")
        return self._pref

    def prepare_kill_points(self, n:int=2)->list[tuple[int,str]]:
        ev = self.prepare_reference()["events"]
        rng = random.Random(self.seed + 4)
        cache = [i for i, e in enumerate(ev) if "cache/data" in e]           # always one inside the data cache's write
        aim = set(cache[len(cache) // 2:][:1])
        pts = aim | set(rng.sample([i for i in range(len(ev)) if i not in aim], min(n, len(ev) - len(aim))))
        return [(i + 1, _norm(ev[i])) for i in sorted(pts)]

    def prepare_scenario(self, at:int)->list:
        "`ft-nb prepare` killed at event `at`; the rerun writes what an uninterrupted run writes, from a sound cache."
        ref = self.prepare_reference()
        d, env = self._prep_dir(f"k{at}")
        r = self.z.run(self._prep_argv(d), d, "kill", env=env, kill=dict(at=at), timeout=RUN_TIMEOUT)
        if not r["killed"]: return [f"prepare was meant to be killed at event {at} but ended with rc {r['rc']}: {_tail(r['stderr'])}"]
        r = self.z.run(self._prep_argv(d), d, "rerun", env=env, timeout=RUN_TIMEOUT)
        probs = [f"raw traceback: {_tail(r['stderr'])}"] if has_traceback(r["stderr"]) else []
        if r["rc"] != 0: return probs + [f"prepare rerun failed (rc {r['rc']}): {_tail(r['stderr'])}"]
        if self._prepared(d) != ref["data"]: probs.append("the rerun's prepared data differ from an uninterrupted run's")
        if lo := leftovers(d/"cache"/"data") + leftovers(d/"prep"): probs.append(f"left behind after the rerun: {lo[:5]}")
        return probs

    # --- merge --overwrite --------------------------------------------------------------------------------------------
    def _weights(self, d:Path)->dict:
        import hashlib
        return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(d).rglob("*.safetensors"))}

    def merge_reference(self)->dict:
        "An old merged output (fp16), and `merge --overwrite` over a copy of it (fp32) with its events."
        if getattr(self, "_mref", None) is None:
            ad = self.train_reference()["dir"]
            d = self.work/"merge-ref"; shutil.rmtree(d, ignore_errors=True); d.mkdir(parents=True)
            r = self.z.run(["merge", ad, "--out", d/"old", "--precision", "fp16", "--device", "cpu"], d, "old", timeout=RUN_TIMEOUT)
            if r["rc"] != 0: raise AssertionError(f"`ft-nb merge` failed (rc {r['rc']}): {_tail(r['stderr'], 1500)}")
            shutil.copytree(d/"old", d/"cnt"/"out")
            r = self.z.run(self._merge_argv(d/"cnt"/"out"), d/"cnt", "new", timeout=RUN_TIMEOUT)
            if r["rc"] != 0: raise AssertionError(f"`ft-nb merge --overwrite` failed (rc {r['rc']}): {_tail(r['stderr'], 1500)}")
            self._mref = dict(old=d/"old", old_w=self._weights(d/"old"), new_w=self._weights(d/"cnt"/"out"), events=r["events"])
            if self._mref["old_w"] == self._mref["new_w"]: raise AssertionError("fp16 and fp32 merges wrote the same weights")
        return self._mref

    def _merge_argv(self, out:Path)->list:
        return ["merge", self.train_reference()["dir"], "--out", out, "--overwrite", "--device", "cpu"]

    def merge_kill_points(self, n:int=3)->list[tuple[int,str]]:
        ev = self.merge_reference()["events"]
        rng = random.Random(self.seed + 2)
        # the most hostile moment, if the writer has one: the old output moved aside, the new one not yet in place
        gap = [i + 1 for i, e in enumerate(ev[:-1]) if e.startswith(("replace out ", "rename out "))][:1]
        pts = sorted(rng.sample([i for i in range(len(ev)) if i not in gap], min(n - len(gap), len(ev) - len(gap))) + gap)
        return [(i + 1, _norm(ev[i]) + (" [old output moved aside]" if i in gap else "")) for i in pts]

    def merge_scenario(self, at:int)->list:
        "`merge --overwrite` killed at event `at`: the output is the old one or the new one, whole; a rerun finishes."
        ref = self.merge_reference()
        d = self.work/f"merge-k{at}"; shutil.rmtree(d, ignore_errors=True); d.mkdir(parents=True)
        out = d/"out"; shutil.copytree(ref["old"], out)
        r = self.z.run(self._merge_argv(out), d, "kill", kill=dict(at=at), timeout=RUN_TIMEOUT)
        if not r["killed"]: return [f"merge was meant to be killed at event {at} but ended with rc {r['rc']}: {_tail(r['stderr'])}"]
        probs, w = [], self._weights(out) if out.exists() else {}
        aside = [p for p in d.iterdir() if p.is_dir() and p.name.startswith(".partial-") and self._weights(p) == ref["old_w"]]
        if not out.exists() and aside: pass   # the old output kept whole beside it, for the next ft_nb run to put back
        elif w not in (ref["old_w"], ref["new_w"]):
            probs.append(f"after the kill the output is neither the old merge nor the new one: {sorted(w)[:4]}"
                         + ("" if out.exists() else " (the output directory is gone)"))
        read_run, RunError, which = _reader()
        if out.exists():
            try: read_run(out)
            except Exception as e: probs.append(f"{which} refuses the output left by the killed merge: {str(e)[:200]}")
        r = self.z.run(self._merge_argv(out), d, "rerun", timeout=RUN_TIMEOUT)
        if has_traceback(r["stderr"]): probs.append(f"raw traceback: {_tail(r['stderr'])}")
        if r["rc"] != 0: return probs + [f"merge rerun failed (rc {r['rc']}): {_tail(r['stderr'])}"]
        if self._weights(out) != ref["new_w"]: probs.append("the rerun's output differs from an uninterrupted merge")
        if lo := leftovers(d): probs.append(f"left behind after the rerun: {lo[:5]}")
        return probs

    # --- full disk ------------------------------------------------------------------------------------------------
    def disk_full(self, after:int=SAVE_STEPS, size_mb:int=64)->list|str:
        """Train on a tmpfs that fills up after checkpoint `after` (the first, or the last: then the final save fails).
        Returns problems, or a string: why it was skipped."""
        ref = self.train_reference()
        mnt = self.work/"tmpfs"; mnt.mkdir(exist_ok=True)
        try: m = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(mnt)], capture_output=True,
                                text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as e: m = subprocess.CompletedProcess([], 1, "", str(e))
        if m.returncode: return f"cannot mount a tmpfs here ({(m.stderr or m.stdout).strip()[:200]}); full-disk scenario skipped"
        try:
            d = self.work/f"disk{after}"; shutil.rmtree(d, ignore_errors=True)
            out = mnt/"out"; cfg = self._cfg(d, output_dir=out)
            fill = mnt/"filler.bin"
            r = self.z.run(["train", cfg], d, "full", root=mnt, fill_after_save=after, fill_path=str(fill), timeout=RUN_TIMEOUT)
            probs = []
            if r["rc"] == 0: return [f"training on a full disk reported success; {list(map(str, out.glob('*')))[:8]}"]
            if r["killed"] or r["timed_out"]: return [f"training on a full disk did not end cleanly (rc {r['rc']})"]
            if has_traceback(r["stderr"]): probs.append(f"full disk: raw traceback: {_tail(r['stderr'])}")
            msg = r["stderr"].strip()
            if r["rc"] != 2: probs.append(f"full disk: exit status {r['rc']}, want 2 (an FTError)")
            if not re.search(r"no space|disk|space left|full", msg, re.I):
                probs.append(f"full disk: the message does not say the disk is full: {_tail(msg, 300)!r}")
            if f"checkpoint-{after}" not in msg and "resume" not in msg:
                probs.append(f"full disk: the message names neither the last good checkpoint (checkpoint-{after}) nor "
                             f"how to continue (resume): {_tail(msg, 300)!r}")
            ck = out/"checkpoints"/f"checkpoint-{after}"
            try:
                st = json.loads((ck/"trainer_state.json").read_text())
                assert st["global_step"] == after, st.get("global_step")
                adapter_tensors(ck)
            except Exception as e: probs.append(f"full disk: the last good checkpoint {ck.name} is damaged: {type(e).__name__}: {e}")
            probs += self.check_looks_complete(out)
            fill.unlink()
            p, ok, r2 = self._resume(cfg, d, "")
            probs += [f"after freeing space: {x}" for x in p]
            if ok:
                try:
                    diff = max_diff(adapter_tensors(out), ref["tensors"])
                    if diff > TOL: probs.append(f"after freeing space, resumed adapter differs: max |diff| {diff:.2e}")
                except Exception as e: probs.append(f"after freeing space, adapter unreadable: {e}")
            if lo := leftovers(mnt): probs.append(f"left behind: {lo[:5]}")
            return probs
        finally:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
            shutil.rmtree(mnt, ignore_errors=True)

# --- issue 25: kills during ft-nb tune (functions below this line) ---

TUNE_TRIALS = 2

def tune_config(s:Suite, d:Path)->Path:
    "The tiny study of every tune scenario: TUNE_TRIALS trials of 2 steps on the suite's 24 records (6 held out)."
    import yaml
    d.mkdir(parents=True, exist_ok=True)
    c = dict(model_name="tiny-llama", dataset=str(s.data), val_fraction=0.25, max_seq_len=128, max_steps=2, eval_steps=2,
             per_device_batch_size=4, logging_steps=1, device="cpu", precision="fp32", seed=0, report_to="none",
             output_dir=str(d/"out"), search=dict(learning_rate={"loguniform": [1e-3, 1e-2]}),
             tune=dict(trials=TUNE_TRIALS, pruner="none"))
    p = d/"tune.yaml"
    p.write_text(yaml.safe_dump(c, sort_keys=False))
    return p

def finished_trials(journal:Path)->dict:
    "{number: (params, value)} of the COMPLETE trials in `journal`, read as Optuna reads it (a torn last line skipped)."
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    if not journal.is_file(): return {}
    st = JournalStorage(JournalFileBackend(str(journal)))
    return {t.number: (t.params, t.value) for s in st.get_all_studies() for t in st.get_all_trials(s._study_id)
            if t.state.name == "COMPLETE"}

def tune_kill_points(s:Suite)->dict:
    "Seeded kills: at a training step of the second trial, and inside one of the journal's appends (cut in half)."
    rng = random.Random(s.seed + 25)
    return dict(trial=dict(match="step ", nth=rng.choice([3, 4]), what="a training step of trial 1"),
                append=dict(match="write tuning/study.journal", nth=rng.randrange(2, 12), what="an append to the journal"))

def tune_kill_scenario(s:Suite, where:str)->list:
    """`ft-nb tune` killed at `tune_kill_points(s)[where]`, then run again: the rerun finishes the study (TUNE_TRIALS
    complete) with every trial finished before the kill kept as it was, sets a torn journal line aside with a warning,
    and leaves no lock, no temporaries, and a best_config.yaml whose adapter exists."""
    k = tune_kill_points(s)[where]
    d = s.work/f"tune-{where}"; shutil.rmtree(d, ignore_errors=True)
    argv = ["tune", tune_config(s, d), "--out", d/"tuning"]
    r = s.z.run(argv, d, "kill", kill={kk: v for kk, v in k.items() if kk != "what"}, timeout=RUN_TIMEOUT)
    if not r["killed"]: return [f"tune was meant to be killed at {k} but ended with rc {r['rc']}: {_tail(r['stderr'])}"]
    j = d/"tuning"/"study.journal"
    torn = j.is_file() and j.stat().st_size > 0 and not j.read_bytes().endswith(b"\n")
    before = finished_trials(j)
    r = s.z.run(argv, d, "rerun", timeout=RUN_TIMEOUT)
    probs = [f"raw traceback: {_tail(r['stderr'])}"] if has_traceback(r["stderr"]) else []
    if r["rc"] != 0: return probs + [f"the rerun failed (rc {r['rc']}): {_tail(r['stderr'])}"]
    after = finished_trials(j)
    if lost := [n for n, v in before.items() if after.get(n) != v]:
        probs.append(f"trials {lost} had finished before the kill; after the rerun they are gone or changed")
    if len(after) != TUNE_TRIALS: probs.append(f"{len(after)} trials complete after the rerun, want {TUNE_TRIALS}")
    side = Path(f"{j}.torn")      # (its warning is checked by the catalogue: ENV here ignores warnings)
    if torn and not (side.is_file() and side.stat().st_size): probs.append("the torn line was not set aside in study.journal.torn")
    if not j.read_bytes().endswith(b"\n"): probs.append("the journal still ends in a torn line")
    if os.path.lexists(f"{j}.lock"): probs.append("the journal's lock was left behind")
    try:
        import yaml
        best = Path(yaml.safe_load((d/"tuning"/"best_config.yaml").read_text())["output_dir"])
        if not (best/"adapter_model.safetensors").is_file(): probs.append(f"best_config.yaml names {best}, which has no adapter")
    except Exception as e: probs.append(f"best_config.yaml unreadable after the rerun: {type(e).__name__}: {e}")
    if lo := leftovers(d): probs.append(f"left behind: {lo[:5]}")
    return probs


# --- issue 25: kills during ft-nb prefer (functions below this line) ---
# A DPO run of `ft-nb prefer` on the tiny model (training's tiny run: 6 steps, a checkpoint every 2, dropout on) killed
# at seeded points: before its first checkpoint is complete, between checkpoints, and in its final save. Whatever the
# output directory then holds, `read_run` refuses it or it is the finished adapter; `resume: true` (or the one thing its
# refusal says to do) finishes the run, and the adapter equals the uninterrupted run's (max |diff| <= TOL): the policy,
# its reference (the adapter switched off) and the data order are all restored from the checkpoint, so exact equality
# is promised and checked.

PREFER_PAIRS = 24

def prefer_data(work)->Path:
    "24 DPO pairs of the bundled demo task: the reference label chosen, the next label (alphabetically) rejected."
    p = Path(work)/"pairs24.jsonl"
    if not p.exists():
        rows = [json.loads(l) for l in demo_file("train").read_text(encoding="utf-8").splitlines()[:PREFER_PAIRS]]
        labels = sorted({r["output"] for r in rows})
        nxt = lambda y: labels[(labels.index(y) + 1) % len(labels)]
        p.write_text("".join(json.dumps(dict(prompt=r["input"], chosen=r["output"], rejected=nxt(r["output"]))) + "\n"
                             for r in rows), encoding="utf-8")
    return p

def prefer_config(output_dir, data)->dict:
    "The tiny DPO run every prefer scenario repeats: training's tiny run on preference pairs, beta 0.1."
    return dict(train_config(output_dir, data), max_seq_len=256, preference=dict(stage="dpo", beta=0.1))

def _prefer_cfg(s:Suite, d:Path)->Path:
    import yaml
    d.mkdir(parents=True, exist_ok=True)
    p = d/"prefer.yaml"
    p.write_text(yaml.safe_dump(prefer_config(d/"out", prefer_data(s.work)), sort_keys=False))
    return p

def prefer_reference(s:Suite)->dict:
    "The uninterrupted DPO run (with its event list); raises if it does not finish."
    if getattr(s, "_prefer_ref", None) is None:
        d = s.work/"prefer-ref"; shutil.rmtree(d, ignore_errors=True)
        r = s.z.run(["prefer", _prefer_cfg(s, d)], d, "run1", timeout=RUN_TIMEOUT)
        if r["rc"] != 0:
            raise AssertionError(f"the uninterrupted tiny DPO run failed (rc {r['rc']}): {_tail(r['stderr'], 1500)}")
        s._prefer_ref = dict(dir=d/"out", tensors=adapter_tensors(d/"out"), events=r["events"])
    return s._prefer_ref

def prefer_kill_points(s:Suite)->list[tuple[int,str]]:
    "Seeded kill points: one before the first checkpoint is complete, one between checkpoints, one in the final save."
    ev = prefer_reference(s)["events"]
    cks = [i for i, e in enumerate(ev) if e.startswith("checkpoint ")]
    final = [i for i, e in enumerate(ev) if i > cks[-1] and "checkpoints" not in e]
    rng = random.Random(s.seed + 5)
    pts = [(rng.randrange(cks[0] + 1), ""), (rng.randrange(cks[0] + 1, cks[-1] + 1), ""),
           (rng.choice(final), " [final save]")]
    return [(i + 1, _norm(ev[i]) + tag) for i, tag in pts]

def _prefer_resume(s:Suite, cfg:Path, d:Path)->tuple[list, bool]:
    "Finish an interrupted `ft-nb prefer`: `--resume true`, or the one thing its refusal says to do."
    probs, r = [], s.z.run(["prefer", cfg, "--resume", "true"], d, "resume", timeout=RUN_TIMEOUT)
    if has_traceback(r["stderr"]): probs.append(f"resume printed a raw traceback: {_tail(r['stderr'])}")
    if r["rc"] == 0: return probs, True
    msg = (r["stderr"].strip().splitlines() or [""])[-1]
    if r["rc"] != 2: return probs + [f"resume failed (rc {r['rc']}): {_tail(r['stderr'])}"], False
    if re.search(r"finished|already complete", msg, re.I): return probs, True
    if re.search(r"without .?resume", msg): argv = ["prefer", cfg]
    elif "overwrite_output_dir" in msg: argv = ["prefer", cfg, "--overwrite_output_dir", "true"]
    else: return probs + [f"resume refused with no way forward: {msg[:300]}"], False
    r2 = s.z.run(argv, d, "advice", timeout=RUN_TIMEOUT)
    if has_traceback(r2["stderr"]): probs.append(f"raw traceback: {_tail(r2['stderr'])}")
    if r2["rc"] != 0:
        return probs + [f"resume said {msg[:200]!r}; doing that failed too (rc {r2['rc']}): {_tail(r2['stderr'], 300)}"], False
    return probs, True

def prefer_scenario(s:Suite, at:int)->list:
    "`ft-nb prefer` (DPO) killed at event `at`, then finished; the adapter must equal the uninterrupted run's."
    ref = prefer_reference(s)
    d = s.work/f"prefer-k{at}"; shutil.rmtree(d, ignore_errors=True)
    cfg, out = _prefer_cfg(s, d), d/"out"
    r = s.z.run(["prefer", cfg], d, "kill", kill=dict(at=at), timeout=RUN_TIMEOUT)
    if not r["killed"]:
        return [f"prefer was meant to be killed at event {at} but ended with rc {r['rc']}: {_tail(r['stderr'])}"]
    read_run, RunError, which = _reader()
    probs = []
    if (out/"adapter_config.json").exists():
        try: read_run(out)
        except RunError: pass
        else:
            if max_diff(adapter_tensors(out), ref["tensors"]) > TOL:
                probs.append(f"{which} accepted the killed run's directory, whose adapter is not the finished one")
    p, ok = _prefer_resume(s, cfg, d)
    probs += p
    if not ok: return probs
    try: info = read_run(out)
    except Exception as e: return probs + [f"after recovery {which} refuses the run: {type(e).__name__}: {str(e)[:300]}"]
    diff = max_diff(adapter_tensors(out), ref["tensors"])
    if diff > TOL: probs.append(f"recovered DPO adapter differs from the uninterrupted run: max |diff| {diff:.2e} > {TOL}")
    man = info.manifest or {}
    if (man.get("result") or {}).get("steps") != MAX_STEPS: probs.append(f"manifest steps {man.get('result')}")
    if (man.get("preference") or {}).get("beta") != 0.1: probs.append("the manifest lost the preference settings")
    if lo := leftovers(d): probs.append(f"left behind: {lo[:5]}")
    return probs

# --- issue 25: kills during ft-nb merge-adapters (functions below this line) ---

def _madd_argv(parents:list, out:Path, overwrite:bool=False)->list:
    "The merge every merge-adapters scenario repeats: `cat` of the two parents (exact, so reruns are byte-equal)."
    return ["merge-adapters", *parents, "--method", "cat", "--weights", "1,1", "--out", out] + ["--overwrite"] * overwrite

def merge_adapters_reference(s:Suite)->dict:
    "Parents (the tiny run's adapter and a half-weight rescale of it) and an uninterrupted merge of them, with its events."
    if getattr(s, "_maref", None) is None:
        a = s.train_reference()["dir"]
        d = s.work/"madd-ref"; shutil.rmtree(d, ignore_errors=True); d.mkdir(parents=True)
        r = s.z.run(["merge-adapters", a, "--method", "linear", "--weights", "0.5", "--out", d/"half"], d, "half",
                    timeout=RUN_TIMEOUT)
        if r["rc"] != 0: raise AssertionError(f"`ft-nb merge-adapters` (half) failed (rc {r['rc']}): {_tail(r['stderr'], 1500)}")
        parents = [a, d/"half"]
        (d/"cnt").mkdir()
        r = s.z.run(_madd_argv(parents, d/"cnt"/"out"), d/"cnt", "ref", timeout=RUN_TIMEOUT)
        if r["rc"] != 0: raise AssertionError(f"`ft-nb merge-adapters` failed (rc {r['rc']}): {_tail(r['stderr'], 1500)}")
        s._maref = dict(parents=parents, parent_w={str(p): s._weights(p) for p in parents},
                        new_w=s._weights(d/"cnt"/"out"), events=r["events"])
    return s._maref

def merge_adapters_kill_points(s:Suite, n:int=3)->list[tuple[int,str]]:
    "`n` seeded events of the uninterrupted merge-adapters run (writes, saves, renames under its folder)."
    ev = merge_adapters_reference(s)["events"]
    pts = sorted(random.Random(s.seed + 25).sample(range(len(ev)), min(n, len(ev))))
    return [(i + 1, _norm(ev[i])) for i in pts]

def merge_adapters_scenario(s:Suite, kill:dict, tag:str, over_old:bool=False)->list:
    """`merge-adapters` killed at `kill` (an Injector kill), writing a new --out or (`over_old`) replacing an older
    adapter there: --out is then absent, or a whole adapter `read_run` accepts (the old one or the finished merge);
    the parents are untouched; the rerun writes the uninterrupted merge and leaves no `.partial-*` behind."""
    ref = merge_adapters_reference(s)
    d = s.work/f"madd-{tag}"; shutil.rmtree(d, ignore_errors=True); d.mkdir(parents=True)
    out = d/"out"
    if over_old: shutil.copytree(ref["parents"][1], out)
    old_w = s._weights(out) if over_old else None
    r = s.z.run(_madd_argv(ref["parents"], out, over_old), d, "kill", kill=kill, timeout=RUN_TIMEOUT)
    if not r["killed"]: return [f"merge-adapters was meant to be killed ({kill}) but ended with rc {r['rc']}: {_tail(r['stderr'])}"]
    probs, (read_run, RunError, which) = [], _reader()
    if out.exists():
        if s._weights(out) not in (ref["new_w"], old_w):
            probs.append(f"after the kill --out holds neither the finished merge nor the old adapter: {sorted(s._weights(out))[:4]}")
        try: read_run(out)
        except Exception as e: probs.append(f"after the kill --out exists but {which} refuses it (half written): {str(e)[:200]}")
    elif over_old and not any(p.name.startswith(".partial-") and s._weights(p) == old_w for p in d.iterdir() if p.is_dir()):
        probs.append("after the kill the old --out is gone and not kept aside for the next run to put back")
    for p in ref["parents"]:
        if s._weights(p) != ref["parent_w"][str(p)]: probs.append(f"the parent {p} changed")
    r = s.z.run(_madd_argv(ref["parents"], out, over_old or out.exists()), d, "rerun", timeout=RUN_TIMEOUT)
    if has_traceback(r["stderr"]): probs.append(f"raw traceback: {_tail(r['stderr'])}")
    if r["rc"] != 0: return probs + [f"merge-adapters rerun failed (rc {r['rc']}): {_tail(r['stderr'])}"]
    if s._weights(out) != ref["new_w"]: probs.append("the rerun's output differs from an uninterrupted merge-adapters")
    try: read_run(out)
    except Exception as e: probs.append(f"{which} refuses the rerun's output: {str(e)[:200]}")
    if lo := leftovers(d): probs.append(f"left behind after the rerun: {lo[:5]}")
    return probs

def main(argv=None)->int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=None, help="seed of the kill points (default: env FT_NB_FAULT_SEED or 0)")
    ap.add_argument("--only", default="train,infer,prepare,merge,disk,tune,prefer,merge-adapters",
                    help="comma-separated: train, infer, prepare, merge, disk, tune, prefer, merge-adapters")
    ap.add_argument("--keep", default=None, help="work folder to keep (default: a temporary one, removed)")
    ap.add_argument("--zygote", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.zygote: zygote_main(); return 0
    s = Suite(a.keep, a.seed)
    only, failed, t0 = set(a.only.split(",")), 0, time.time()
    def report(name, probs):
        nonlocal failed
        if isinstance(probs, str): print(f"SKIP {name}: {probs}", flush=True); return
        failed += bool(probs)
        print(f"{'FAIL' if probs else 'PASS'} {name}" + "".join(f"\n     - {p}" for p in probs), flush=True)
    try:
        if "train" in only:
            print(f"reference run: {len(s.train_reference()['events'])} events, seed {s.seed}", flush=True)
            for at, what in s.train_kill_points(): report(f"train: kill at event {at} ({what})", s.train_scenario(f"k{at}", [dict(at=at)]))
            for k in s.train_targeted(): report(f"train: kill at {k['what']}", s.train_scenario(f"t-{k['match']}", [k]))
            for kind in ("finished", "extend", "lr"): report(f"resume: {kind}", s.resume_scenario(kind))
            for ss in (SAVE_STEPS, None): report(f"NaN before step 3, save_steps {ss}", s.nan_scenario(ss))
            ks = s.train_double_kill()
            report("train: kill at " + " then ".join(f"{k.get('at', k.get('match'))} ({k['what']})" for k in ks),
                   s.train_scenario("double", ks))
        if "infer" in only:
            for ks in s.infer_kill_points():
                report("infer: kill at " + " then ".join(f"{k.get('at', k.get('match'))} ({k['what']})" for k in ks),
                       s.infer_scenario("-".join(str(k.get("at", "m")) for k in ks), ks))
        if "prepare" in only:
            for at, what in s.prepare_kill_points(): report(f"prepare: kill at event {at} ({what})", s.prepare_scenario(at))
        if "merge" in only:
            for at, what in s.merge_kill_points(): report(f"merge --overwrite: kill at event {at} ({what})", s.merge_scenario(at))
        if "disk" in only:
            report("full disk during training (after the first checkpoint)", s.disk_full(SAVE_STEPS))
            report("full disk during the final save (after the last checkpoint)", s.disk_full(MAX_STEPS))
        if "tune" in only:
            for where, k in tune_kill_points(s).items():
                report(f"tune: kill at {k['what']}", tune_kill_scenario(s, where))
        if "prefer" in only:
            for at, what in prefer_kill_points(s): report(f"prefer: kill at event {at} ({what})", prefer_scenario(s, at))
        if "merge-adapters" in only:
            for at, what in merge_adapters_kill_points(s):
                report(f"merge-adapters: kill at event {at} ({what})", merge_adapters_scenario(s, dict(at=at), f"k{at}"))
            report("merge-adapters --overwrite: kill with the old output moved aside",
                   merge_adapters_scenario(s, dict(match="-> out", nth=1), "gap", over_old=True))
    finally:
        s.close()
        if not a.keep: shutil.rmtree(s.work, ignore_errors=True)
    print(f"{failed} failed, {time.time()-t0:.0f} s")
    return 1 if failed else 0

if __name__ == "__main__": sys.exit(main())
