"""The accelerate configs shipped in configs/accelerate/ load and validate with the installed accelerate (and
DeepSpeed), produce the environment `accelerate launch` gives each process, and ft_nb's launch checks read that
environment: QLoRA is refused under ZeRO-3 and FSDP and accepted under DDP and ZeRO-2. Running them needs GPUs;
everything up to the first CUDA call is checked here."""
import os
from pathlib import Path
import pytest
from accelerate.commands.launch import launch_command_parser, _validate_launch_command
from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env
from ft_nb.core import FTConfig
from ft_nb.launch import check_launch, launch_env, LaunchError

CONFIGS = Path(__file__).resolve().parent.parent/"configs"/"accelerate"
EXPECTED = dict(ddp=("ddp", None), deepspeed_zero2=("deepspeed", 2), deepspeed_zero3=("deepspeed", 3), fsdp=("fsdp", None))

def launch_environment(name):
    "The environment `accelerate launch --config_file configs/accelerate/NAME.yaml ft-nb train ...` gives a process."
    args = launch_command_parser().parse_args(["--config_file", str(CONFIGS/f"{name}.yaml"), "ft-nb", "train", "x.yaml"])
    args, defaults, _ = _validate_launch_command(args)
    if args.use_deepspeed:   # as accelerate's launch_command does before building the DeepSpeed environment
        fields = list(defaults.deepspeed_config.keys()) if defaults else []
        args.deepspeed_fields_from_accelerate_config = ",".join(fields)
        _, env = prepare_deepspeed_cmd_env(args)
    else: env = prepare_multi_gpu_env(args)
    return dict(env, WORLD_SIZE=str(args.num_processes))

def test_every_shipped_config_is_tested():
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)

@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_gives_backend(name):
    le = launch_env(launch_environment(name))
    assert (le["backend"], le["zero_stage"]) == EXPECTED[name]
    assert le["world_size"] == 8

@pytest.mark.parametrize("name", ["deepspeed_zero2", "deepspeed_zero3"])
def test_deepspeed_plugin_builds(name, monkeypatch):
    pytest.importorskip("deepspeed")
    from accelerate.utils import DeepSpeedPlugin
    for k, v in launch_environment(name).items(): monkeypatch.setenv(k, v)
    p = DeepSpeedPlugin()
    assert p.zero_stage == EXPECTED[name][1]
    assert p.deepspeed_config["zero_optimization"]["stage"] == EXPECTED[name][1]

def test_fsdp_plugin_builds(monkeypatch):
    from accelerate.utils import FullyShardedDataParallelPlugin
    for k, v in launch_environment("fsdp").items(): monkeypatch.setenv(k, v)
    p = FullyShardedDataParallelPlugin()
    assert p.fsdp_version == 2 and p.state_dict_type is not None

@pytest.mark.parametrize("name,ok", [("ddp", True), ("deepspeed_zero2", True), ("deepspeed_zero3", False), ("fsdp", False)])
def test_qlora_under_each_config(name, ok):
    cfg, env = FTConfig(model_name="tiny-llama", method="qlora"), launch_environment(name)
    if ok: assert check_launch(cfg, "cuda", env)["world_size"] == 8
    else:
        with pytest.raises(LaunchError, match="load_in_4bit"): check_launch(cfg, "cuda", env)
    assert check_launch(FTConfig(model_name="tiny-llama"), "cuda", env)   # plain LoRA works with all four
