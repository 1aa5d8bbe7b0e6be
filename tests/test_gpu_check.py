"""bench/gpu_check.sh --cpu-smoke: every section of the GPU check runs at toy size on the CPU, so the script a GPU
machine will run cannot rot unnoticed."""
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def test_gpu_check_cpu_smoke(tmp_path):
    out = tmp_path/"gpu_check.json"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    p = subprocess.run(["bash", str(ROOT/"bench"/"gpu_check.sh"), "--cpu-smoke", "--out", str(out)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=1500)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    res = json.loads(out.read_text())
    assert res["smoke"] and res["failed"] == []
    sections = {r["section"] for r in res["rows"]}
    assert sections == {"env", "train", "attention", "compile", "mfu", "generate", "grpo", "demo"}
    assert not [r for r in res["rows"] if r["measure"] == "ERROR"]
    vals = {(r["section"], r["measure"]): r["value"] for r in res["rows"]}
    assert vals[("train", "LoRA fp32: ft_nb real tokens/s")] > 0
    assert 0 <= vals[("generate", "merge parity: max abs logit difference (fp32)")] < 1e-3
    assert vals[("grpo", "step time, generation in the trainer (s)")] > 0
    assert vals[("grpo", "use_vllm")] == "refused"     # on the CPU: refused with the reason, before TRL sees it
    assert "| section | measure | value | note |" in p.stdout
