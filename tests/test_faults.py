"""Issue 11, fault injection: SIGKILL at seeded random points of a tiny training run and during its final save, SIGKILL
during `ft-nb infer --input/--output`, and a full disk during training (scripts/fault_suite.py does the work; see its
docstring for what each scenario checks). Seed: env FT_NB_FAULT_SEED (default 0); replay with
`python scripts/fault_suite.py --seed N --keep DIR`."""
import pytest
import fault_suite as fs

N_RANDOM, N_FINAL, N_INFER_RANDOM = 5, 2, 3

@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    s = fs.Suite(tmp_path_factory.mktemp("faults"))
    yield s
    s.close()

def _ok(probs, what):
    assert not probs, f"{what} (seed {fs.os.environ.get('FT_NB_FAULT_SEED', 0)}):\n  - " + "\n  - ".join(probs)

def test_reference_training_run(suite):
    ref = suite.train_reference()
    assert ref["tensors"], "the uninterrupted run saved no adapter weights"
    read_run, RunError, which = fs._reader()
    read_run(ref["dir"])                       # the finished run is accepted by THE reader
    pts = suite.train_kill_points(N_RANDOM, N_FINAL)
    assert len(pts) == N_RANDOM + N_FINAL, pts

@pytest.mark.parametrize("i", range(N_RANDOM + N_FINAL))
def test_kill_training(suite, i):
    at, what = suite.train_kill_points(N_RANDOM, N_FINAL)[i]
    _ok(suite.train_scenario(f"k{at}", [dict(at=at)]), f"SIGKILL at event {at} of the training run ({what})")

@pytest.mark.parametrize("i", range(N_INFER_RANDOM + 2))
def test_kill_batch_inference(suite, i):
    kills = suite.infer_kill_points(N_INFER_RANDOM)[i]
    what = " then ".join(f"{k.get('at', k.get('match'))} ({k['what']})" for k in kills)
    _ok(suite.infer_scenario("-".join(str(k.get("at", "m")) for k in kills), kills), f"ft-nb infer killed at {what}")

@pytest.mark.parametrize("after", [fs.SAVE_STEPS, fs.MAX_STEPS], ids=["after-first-checkpoint", "in-final-save"])
def test_full_disk_during_training(suite, after):
    probs = suite.disk_full(after)
    if isinstance(probs, str): pytest.skip(probs)
    _ok(probs, f"full disk (tmpfs) after checkpoint-{after}")

@pytest.mark.parametrize("i", range(len(fs.Suite.TARGETED)))
def test_kill_training_targeted(suite, i):
    k = suite.train_targeted()[i]
    _ok(suite.train_scenario(f"t{i}", [k]), f"SIGKILL at {k['what']}")

def test_kill_training_then_kill_its_resume(suite):
    kills = suite.train_double_kill()
    _ok(suite.train_scenario("double", kills), "killed at " + " then ".join(k["what"] for k in kills))

@pytest.mark.parametrize("i", range(3))
def test_kill_merge_overwrite(suite, i):
    at, what = suite.merge_kill_points(3)[i]
    _ok(suite.merge_scenario(at), f"ft-nb merge --overwrite killed at event {at} ({what})")

@pytest.mark.parametrize("kind", ["finished", "extend", "lr"])
def test_resume_finished_run(suite, kind):
    if kind == "lr" and not (suite.work/"resume-extend"/"out").exists(): suite.resume_scenario("extend")  # rates to compare
    _ok(suite.resume_scenario(kind), f"resume: true on a finished run ({kind})")

@pytest.mark.parametrize("save_steps", [fs.SAVE_STEPS, None], ids=["save_steps-2", "save_steps-unset"])
def test_nan_weight_during_training(suite, save_steps):
    _ok(suite.nan_scenario(save_steps), f"a NaN weight before step 3 (save_steps {save_steps})")

@pytest.mark.parametrize("i", range(3))
def test_kill_prepare(suite, i):
    at, what = suite.prepare_kill_points(2)[i]
    _ok(suite.prepare_scenario(at), f"ft-nb prepare killed at event {at} ({what})")

# --- issue 25: kills during ft-nb tune (tests below this line) ---

@pytest.mark.parametrize("where", ["trial", "append"])
def test_kill_tune(suite, where):
    k = fs.tune_kill_points(suite)[where]
    _ok(fs.tune_kill_scenario(suite, where), f"ft-nb tune killed at {k['what']} ({k['match']!r} #{k['nth']})")


# --- issue 25: kills during ft-nb prefer (tests below this line) ---

@pytest.mark.parametrize("i", range(3), ids=["before-first-checkpoint", "between-checkpoints", "in-final-save"])
def test_kill_prefer_dpo(suite, i):
    at, what = fs.prefer_kill_points(suite)[i]
    _ok(fs.prefer_scenario(suite, at), f"ft-nb prefer (DPO) killed at event {at} ({what})")

# --- issue 25: kills during ft-nb merge-adapters (tests below this line) ---

N_MERGE_ADAPTERS = 3

@pytest.mark.parametrize("i", range(N_MERGE_ADAPTERS))
def test_kill_merge_adapters(suite, i):
    at, what = fs.merge_adapters_kill_points(suite, N_MERGE_ADAPTERS)[i]
    _ok(fs.merge_adapters_scenario(suite, dict(at=at), f"k{at}"), f"ft-nb merge-adapters killed at event {at} ({what})")

def test_kill_merge_adapters_overwrite_gap(suite):
    "The most hostile moment of --overwrite: the old adapter moved aside, the merge not yet renamed into place."
    _ok(fs.merge_adapters_scenario(suite, dict(match="-> out", nth=1), "gap", over_old=True),
        "ft-nb merge-adapters --overwrite killed with the old output moved aside")
