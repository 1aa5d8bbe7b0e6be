"""Two "nodes" on this machine (torchrun --nnodes 2 --nproc_per_node 1, gloo on the CPU) train one tiny adapter.

Checks: world size 2, both ranks end with the same adapter weights, exactly one process writes the run directory,
resume from a checkpoint works across both ranks (equal to the uninterrupted run), and ranks launched with different
configs refuse to train. Tiny model, a few steps: about a minute and a half on 2 cores.
"""
import hashlib, json, os, shutil, socket, subprocess, sys, textwrap
from pathlib import Path
import pytest

DRIVER = textwrap.dedent('''
    import hashlib, json, os, sys
    cfg_path, out_dir, report_dir = sys.argv[1], os.path.realpath(sys.argv[2]), sys.argv[3]
    writes = []
    def audit(event, args):   # every file this process opens for writing (or renames) inside the run directory
        if event == "open" and isinstance(args[0], (str, os.PathLike)) and isinstance(args[1], str) \\
                and any(c in args[1] for c in "wax+") and os.path.realpath(args[0]).startswith(out_dir):
            writes.append(os.path.relpath(os.path.realpath(args[0]), out_dir))
        elif event in ("os.rename", "os.replace"):   # atomic writes end in a rename onto the real name
            dest = os.path.realpath(str(args[1]))
            if dest.startswith(out_dir): writes.append(os.path.relpath(dest, out_dir))
    sys.addaudithook(audit)
    from ft_nb.core import load_config, FTError
    from ft_nb.training import LoRATrainer
    rank = os.environ["RANK"]
    try:
        t = LoRATrainer(load_config(cfg_path)); t.train()
    except FTError as e:
        json.dump(dict(rank=rank, error=str(e)), open(f"{report_dir}/rank{rank}.json", "w")); sys.exit(2)
    from peft import get_peft_model_state_dict
    sd = get_peft_model_state_dict(t.model)
    h = hashlib.sha256(b"".join(sd[k].detach().float().cpu().numpy().tobytes() for k in sorted(sd))).hexdigest()
    json.dump(dict(rank=rank, world=int(os.environ["WORLD_SIZE"]), hash=h, writes=writes),
              open(f"{report_dir}/rank{rank}.json", "w"))
''')

CFG = dict(model_name="tiny-llama", dataset="demo", val_fraction=0.05, max_seq_len=128, method="lora", lora_r=4,
           target_modules=["q_proj", "v_proj"], max_steps=4, save_steps=2, eval_steps=2, per_device_batch_size=2,
           logging_steps=1, lr_scheduler="constant", learning_rate=1e-3, report_to="none", seed=3)

def _port():
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def _launch(tmp, cfgs, out, tag):
    "Start node 0 and node 1 with torchrun (rendezvous on 127.0.0.1); returns their reports and exit codes."
    rep = tmp/f"reports-{tag}"; rep.mkdir()
    drv = tmp/"driver.py"; drv.write_text(DRIVER)
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    port = _port()
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1",
                "--master_addr", "127.0.0.1", "--master_port", str(port)]
    ps = [subprocess.Popen(torchrun + ["--node_rank", str(r), str(drv), str(cfgs[r]), str(out), str(rep)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for r in (0, 1)]
    logs = [p.communicate(timeout=300)[0] for p in ps]
    reports = {}
    for r in (0, 1):
        f = rep/f"rank{r}.json"
        reports[r] = json.loads(f.read_text()) if f.exists() else dict(log=logs[r][-3000:])
    return reports, [p.returncode for p in ps], logs

def _cfg(tmp, name, out, **kw):
    import yaml
    p = tmp/f"{name}.yaml"; p.write_text(yaml.safe_dump(dict(CFG, output_dir=str(out), **kw))); return p

@pytest.fixture(scope="module")
def tmp(tmp_path_factory): return tmp_path_factory.mktemp("multinode")

@pytest.fixture(scope="module")
def first(tmp):
    c = _cfg(tmp, "a", tmp/"run")
    return _launch(tmp, [c, c], tmp/"run", "first")

def test_two_nodes_train_one_adapter(first):
    reports, codes, logs = first
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    assert reports[0]["world"] == reports[1]["world"] == 2
    assert reports[0]["hash"] == reports[1]["hash"]          # DDP kept the replicas identical

def test_only_rank0_writes_the_run(first, tmp):
    reports, codes, _ = first
    assert reports[1]["writes"] == [], reports[1]["writes"]
    assert any(w.endswith("ft_nb_manifest.json") for w in reports[0]["writes"])
    man = json.loads((tmp/"run"/"ft_nb_manifest.json").read_text())
    assert man["device"]["world_size"] == 2

def test_resume_across_both_ranks(first, tmp):
    reports, _, _ = first
    full = reports[0]["hash"]
    run = tmp/"run"
    # keep only the step-2 checkpoint, as if both nodes had been stopped after it
    for p in run.iterdir():
        if p.name != "checkpoints": shutil.rmtree(p) if p.is_dir() else p.unlink()
    for ck in (run/"checkpoints").iterdir():
        if ck.name != "checkpoint-2": shutil.rmtree(ck)
    c = _cfg(tmp, "resume", run, resume=True)
    reports, codes, logs = _launch(tmp, [c, c], run, "resume")
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    assert reports[0]["hash"] == reports[1]["hash"] == full

def test_ranks_with_different_configs_refuse(tmp):
    out = tmp/"run-mismatch"
    a, b = _cfg(tmp, "lr_a", out), _cfg(tmp, "lr_b", out, learning_rate=5e-4)
    reports, codes, logs = _launch(tmp, [a, b], out, "mismatch")
    assert codes[0] != 0 and codes[1] != 0
    for r in (0, 1):
        assert "learning_rate" in reports[r].get("error", ""), reports[r]
    assert not (tmp/"run-mismatch"/"ft_nb_manifest.json").exists()
