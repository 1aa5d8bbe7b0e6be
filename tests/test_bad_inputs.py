"""Issue 11, the bad-input catalogue: data files, configs, command lines and HTTP requests a hostile-but-realistic user
sends. Each case asserts a clear message (the file, the line or record, the field, what to do), no raw traceback, no
"unexpected" catch-all, no HTTP 500, and no record lost without a count. Valid-but-odd inputs (U+2028 in JSONL,
`learning_rate: 1e-4`, OpenAI content arrays, tool turns, legal quoted line breaks in CSV) must be accepted.

The command line is driven in-process (`ft_nb.cli.main(argv)`, see conftest.run_cli); the server runs in-process on
127.0.0.1 on a tiny random model. Cases are registered with `@case(kind, name)` and run by one parametrized test."""
import csv, io, json, os, shutil, threading, time
from pathlib import Path
import pytest
import yaml
from conftest import ROOT, TRACEBACK, run_cli

CASES = []
def case(kind:str, name:str):
    "Register the function below as the bad-input case `kind:name`."
    def deco(f):
        CASES.append(pytest.param(f, id=f"{kind}:{name}"))
        return f
    return deco

def demo_rows(n:int, split:str="train")->list[dict]:
    p = sorted((ROOT/"ft_nb"/"assets").rglob(f"{split}.jsonl"))[0]
    return [json.loads(l) for l in p.read_text(encoding="utf-8").splitlines()[:n]]

def jl(rows)->str: return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)

# ---------------------------------------------------------------------------------------------------------------------
# what every answer must look like

def _low(s): return s.lower()

def no_crash(r):
    "No raw traceback and no 'unexpected' catch-all: the code knew what went wrong."
    assert TRACEBACK not in r.text, f"raw traceback (rc {r.rc}):\n{r.text[-3000:]}"
    assert r.rc in (0, 2) and "(unexpected:" not in r.err, \
        f"an unexpected exception reached the command line (rc {r.rc}): {r.message}"

def error(r, *must, any_of=()):
    "A refusal: exit status 2 and one clear message holding every `must` (and one of `any_of`), case-insensitive."
    no_crash(r)
    assert r.rc == 2, f"want exit status 2 with a clear error, got {r.rc}; stdout: {r.out[-600:]!r}; stderr: {r.err[-900:]!r}"
    msg = _low(r.err)
    missing = [m for m in must if _low(str(m)) not in msg]
    assert not missing, f"the message does not name {missing}: {r.err.strip()[-900:]!r}"
    if any_of: assert any(_low(a) in msg for a in any_of), f"the message says none of {list(any_of)}: {r.err.strip()[-900:]!r}"

def counts(r)->list[tuple[int,int]]:
    "(read, kept) of each split in `ft-nb prepare`'s report."
    import re
    return [(int(a), int(b)) for a, b in re.findall(r"read (\d+), kept (\d+)", r.out)]

def accepted(r, n:int):
    "Exit 0, and the report counts all `n` records: kept, or dropped/skipped with a count."
    no_crash(r)
    assert r.rc == 0, f"valid input refused (rc {r.rc}): {r.err.strip()[-900:]!r}"
    c = counts(r)
    assert c, f"no record count in the output: {r.out[-600:]!r}"
    read, kept = map(sum, zip(*c))
    assert read == n, f"{n} records in the file, the report read {read}: {r.out[-600:]!r}"
    if kept < read:
        lost = str(read - kept)
        assert lost in r.out and any(w in _low(r.out) for w in ("drop", "skip", "left out")), \
            f"{read - kept} of {read} records left out without a count: {r.out[-600:]!r}"

# ---------------------------------------------------------------------------------------------------------------------
# fixtures: a quicker CLI (tokenizer loaded once, help lines cached) and a work folder per case

_TOK_STATE = ("chat_template", "padding_side", "truncation_side", "pad_token", "model_max_length")

@pytest.fixture(scope="module", autouse=True)
def _quick():
    "Load the tiny model's tokenizer once for the module (each `ft-nb prepare` would load it again: ~1.5 s)."
    import functools, ft_nb.models as fm, ft_nb.cli as fc
    saved = {}
    if hasattr(fm, "load_tokenizer"):
        saved["tok"] = orig_tok = fm.load_tokenizer
        cache = {}
        def load_tokenizer(*a, **kw):   # one load per arguments; the settings a run may change are put back each time
            key = repr((a, sorted(kw.items())))
            if key not in cache:
                tok = orig_tok(*a, **kw)
                cache[key] = (tok, {k: getattr(tok, k, None) for k in _TOK_STATE})
            tok, state = cache[key]
            for k, v in state.items():
                try: setattr(tok, k, v)
                except Exception: pass
            return tok
        fm.load_tokenizer = load_tokenizer
    if hasattr(fc, "command_help"):          # help lines are read from every module's source on each main() call
        saved["help"] = orig = fc.command_help
        memo = {}
        def command_help(verb, commands=None):
            if commands is not None: return orig(verb, commands)
            if verb not in memo: memo[verb] = orig(verb)
            return memo[verb]
        fc.command_help = command_help
    yield
    if "tok" in saved: fm.load_tokenizer = saved["tok"]
    if "help" in saved: fc.command_help = saved["help"]

class Work:
    "A case's folder, with helpers that write inputs and run `ft-nb`."
    def __init__(self, d:Path): self.d = d
    def write(self, name:str, data)->Path:
        p = self.d/name; p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes): p.write_bytes(data)
        else: p.write_text(data, encoding="utf-8", newline="")
        return p
    def config(self, text:str|None=None, name:str="c.yaml", **kw)->Path:
        "A config file: raw YAML `text`, or the tiny prepare config updated with `kw`."
        if text is None:
            d = dict(model_name="tiny-llama", dataset=str(self.d/"d.jsonl"), output_dir=str(self.d/"out"), val_fraction=0.0,
                     max_seq_len=128)
            d.update(kw)
            text = yaml.safe_dump(d, sort_keys=False, allow_unicode=True)
        return self.write(name, text)
    def cli(self, *argv): return run_cli(list(argv), cwd=self.d)
    def prepare(self, data=None, name:str="d.jsonl", extra=(), **kw):
        "`ft-nb prepare` on `data` (text/bytes written to `name`) with the tiny config."
        if data is not None: self.write(name, data)
        cfg = self.config(**{"dataset": str(self.d/name), **kw})
        return self.cli("prepare", cfg, "--preview", "0", "--out", self.d/"prepared", *extra)

@pytest.fixture
def w(tmp_path): return Work(tmp_path)

class PeakRSS:
    "Largest resident memory growth (MB) of this process while the block runs (sampled every 20 ms)."
    def __enter__(self):
        self.base = self.peak = self._rss(); self.stop = False
        self.t = threading.Thread(target=self._watch, daemon=True); self.t.start(); self.t0 = time.time()
        return self
    def _rss(self):
        with open("/proc/self/statm") as f: return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    def _watch(self):
        while not self.stop: self.peak = max(self.peak, self._rss()); time.sleep(0.02)
    def __exit__(self, *a):
        self.stop = True; self.t.join(); self.seconds = time.time() - self.t0
        self.grew = self.peak - self.base

# ---------------------------------------------------------------------------------------------------------------------
# data files (ft-nb prepare)

ALP = demo_rows(10)

@case("data", "csv-unterminated-quote")
def _(w):
    buf = io.StringIO(); wr = csv.writer(buf); wr.writerow(["instruction", "output"])
    for r in ALP: wr.writerow([r["input"], r["output"]])
    lines = buf.getvalue().splitlines(True)
    lines[4] = '"' + lines[4].replace('"', "")          # row 4 opens a quote that never closes
    r = w.prepare("".join(lines), name="d.csv")
    if r.rc == 0: accepted(r, 10)                       # all ten read is fine; four of ten is not
    else: error(r, "d.csv", any_of=("quote", "line"))

@case("data", "csv-legal-quoted-line-break")
def _(w):
    buf = io.StringIO(); wr = csv.writer(buf); wr.writerow(["instruction", "output"])
    for i, r in enumerate(ALP): wr.writerow([r["input"] + ("\nsecond line" if i % 3 == 0 else ""), r["output"]])
    accepted(w.prepare(buf.getvalue(), name="d.csv"), 10)

@case("data", "csv-bom-header")
def _(w):
    buf = io.StringIO(); wr = csv.writer(buf); wr.writerow(["instruction", "output"])
    for r in ALP: wr.writerow([r["input"], r["output"]])
    accepted(w.prepare(("\ufeff" + buf.getvalue()).encode("utf-8"), name="d.csv"), 10)

@case("data", "csv-row-with-extra-fields")
def _(w):
    text = "instruction,output\n" + "".join(f'"{r["input"]}",{r["output"]}\n' for r in ALP[:5]) + 'a ticket,billing,stray\n'
    r = w.prepare(text, name="d.csv")
    error(r, "d.csv", any_of=("line 7", "row 6", "record 6", "extra", "field"))

@case("data", "csv-header-only")
def _(w): error(w.prepare("instruction,output\n", name="d.csv"), "d.csv", any_of=("no record", "empty", "no data", "0 record"))

@case("data", "jsonl-u2028-inside-strings")
def _(w):
    rows = [dict(r, input=r["input"] + "\u2028more") for r in ALP]
    accepted(w.prepare(jl(rows)), 10)

@case("data", "jsonl-u0085-inside-strings")
def _(w):
    rows = [dict(r, input=r["input"] + "\u0085more") for r in ALP]
    accepted(w.prepare(jl(rows)), 10)

@case("data", "jsonl-written-by-write_jsonl-with-separators")
def _(w):
    try: from ft_nb.data import write_jsonl
    except ImportError: pytest.fail("ft_nb.data.write_jsonl is gone")
    write_jsonl([dict(r, input=r["input"] + "\u2028\u2029\u0085x") for r in ALP], w.d/"d.jsonl")
    accepted(w.prepare(), 10)

@case("data", "jsonl-crlf-line-endings")
def _(w): accepted(w.prepare(jl(ALP).replace("\n", "\r\n")), 10)

@case("data", "jsonl-invalid-line")
def _(w):
    lines = jl(ALP).splitlines(True); lines[2] = '{"instruction": "x", "output": \n'
    error(w.prepare("".join(lines)), "d.jsonl", "line 3")

@case("data", "jsonl-cut-off-last-line")
def _(w): error(w.prepare(jl(ALP)[:-40]), "d.jsonl", "line 10")

@case("data", "jsonl-duplicate-keys")
def _(w):
    lines = jl(ALP[:4]).splitlines(True)
    lines.insert(2, '{"instruction": "first", "instruction": "second", "output": "billing"}\n')
    error(w.prepare("".join(lines)), "d.jsonl", "line 3", "instruction", any_of=("duplicate", "twice", "more than once"))

@case("data", "jsonl-lone-surrogate")
def _(w):
    lines = jl(ALP[:4]).splitlines(True)
    lines.insert(1, '{"instruction": "bad \\ud800 text", "output": "billing"}\n')
    error(w.prepare("".join(lines)), "d.jsonl", "line 2", any_of=("surrogate", "not valid text", "unicode"))

@case("data", "jsonl-invalid-utf8-bytes")
def _(w):
    data = jl(ALP[:3]).encode() + b'{"instruction": "caf\xe9", "output": "billing"}\n'
    error(w.prepare(data), "d.jsonl", any_of=("utf-8", "utf8", "encoding"))

@case("data", "jsonl-nested-100000-deep")
def _(w):
    data = jl(ALP[:3]) + '{"instruction": ' + "[" * 100_000 + "]" * 100_000 + ', "output": "x"}\n'
    error(w.prepare(data), "d.jsonl", "line 4", any_of=("deep", "nest"))

@case("data", "jsonl-array-record")
def _(w): error(w.prepare(jl(ALP[:3]) + "[1, 2, 3]\n"), "d.jsonl", "line 4", any_of=("object", "dict"))

@case("data", "jsonl-null-records")
def _(w): error(w.prepare("null\nnull\n"), "d.jsonl", "line 1")

@case("data", "jsonl-huge-integer")
def _(w):
    error(w.prepare(jl(ALP[:3]) + '{"instruction": "x", "output": "y", "n": ' + "9" * 5000 + "}\n"), "d.jsonl", "line 4")

@case("data", "alpaca-missing-output")
def _(w):
    rows = ALP[:5] + [dict(instruction="no answer here")]
    error(w.prepare(jl(rows)), "d.jsonl", "output", any_of=("line 6", "record 6", "row 6"))

@case("data", "alpaca-output-not-text")
def _(w):
    rows = ALP[:3] + [dict(instruction="x", output=42)]
    error(w.prepare(jl(rows)), "d.jsonl", "output", any_of=("line 4", "record 4", "row 4"))

@case("data", "alpaca-empty-output")
def _(w):
    r = w.prepare(jl(ALP[:5] + [dict(instruction="x", output="")]))
    if r.rc == 0: accepted(r, 6)
    else: error(r, "d.jsonl", "output", any_of=("line 6", "record 6", "row 6"))

@case("data", "empty-file")
def _(w): error(w.prepare(""), "d.jsonl", any_of=("empty", "no record", "0 record"))

@case("data", "blank-lines-only")
def _(w): error(w.prepare("\n\n  \n"), "d.jsonl", any_of=("empty", "no record", "0 record"))

@case("data", "binary-file-as-jsonl")
def _(w):
    import gzip
    error(w.prepare(gzip.compress(jl(ALP).encode())), "d.jsonl", any_of=("binary", "utf-8", "gzip", "not text", "encoding"))

@case("data", "utf16-file")
def _(w):
    r = w.prepare(jl(ALP).encode("utf-16"))
    if r.rc == 0: accepted(r, 10)
    else: error(r, "d.jsonl", any_of=("utf-16", "utf-8", "encoding"))

@case("data", "nul-bytes-in-line")
def _(w):
    r = w.prepare(jl(ALP[:3]) + '{"instruction": "a\x00b", "output": "billing"}\n')
    if r.rc == 0: accepted(r, 4)
    else: error(r, "d.jsonl", "line 4")

@case("data", "messages-content-arrays")
def _(w):
    rows = [dict(messages=[dict(role="user", content=[dict(type="text", text=r["input"])]),
                           dict(role="assistant", content=[dict(type="text", text=r["output"])])]) for r in ALP[:6]]
    accepted(w.prepare(jl(rows)), 6)

@case("data", "messages-tool-turns")
def _(w):
    call = dict(id="c1", type="function", function=dict(name="lookup", arguments='{"order": 1}'))
    rows = [dict(messages=[dict(role="user", content=r["input"]), dict(role="assistant", content=None, tool_calls=[call]),
                           dict(role="tool", tool_call_id="c1", content="found"), dict(role="assistant", content=r["output"])])
            for r in ALP[:3]]
    plain = [dict(messages=[dict(role="user", content=r["input"]), dict(role="assistant", content=r["output"])]) for r in ALP[3:9]]
    accepted(w.prepare(jl(plain[:3] + rows + plain[3:])), 9)      # rendered, or skipped with a count

@case("data", "messages-unknown-role")
def _(w):
    rows = [dict(messages=[dict(role="user", content="hi"), dict(role="assistant", content="billing")])] * 3
    rows.append(dict(messages=[dict(role="wizard", content="hi"), dict(role="assistant", content="x")]))
    error(w.prepare(jl(rows)), "d.jsonl", "wizard", any_of=("line 4", "record 4", "row 4"))

@case("data", "messages-not-a-list")
def _(w):
    rows = [dict(messages=[dict(role="user", content="hi"), dict(role="assistant", content="billing")])] * 3
    rows.append(dict(messages="user: hi"))
    error(w.prepare(jl(rows)), "d.jsonl", "messages", any_of=("line 4", "record 4", "row 4"))

@case("data", "messages-content-image-part")
def _(w):
    rows = [dict(messages=[dict(role="user", content=[dict(type="image_url", image_url=dict(url="http://x/y.png"))]),
                           dict(role="assistant", content="billing")])] * 3
    r = w.prepare(jl(rows))
    if r.rc == 0: accepted(r, 3)
    else: error(r, "d.jsonl", any_of=("image", "content"))

@case("data", "messages-no-assistant-turn")
def _(w):
    rows = [dict(messages=[dict(role="user", content="hi"), dict(role="assistant", content="billing")])] * 3
    rows.append(dict(messages=[dict(role="user", content="only a question")]))
    r = w.prepare(jl(rows))
    if r.rc == 0: accepted(r, 4)
    else: error(r, "d.jsonl", any_of=("line 4", "record 4", "row 4"))

@case("data", "sharegpt-unknown-from")
def _(w):
    rows = [dict(conversations=[dict(**{"from": "human", "value": "hi"}), dict(**{"from": "gpt", "value": "billing"})])] * 3
    rows.append(dict(conversations=[dict(**{"from": "alien", "value": "hi"}), dict(**{"from": "gpt", "value": "x"})]))
    error(w.prepare(jl(rows)), "d.jsonl", "alien", any_of=("line 4", "record 4", "row 4"))

@case("data", "mixed-formats")
def _(w):
    rows = ALP[:3] + [dict(messages=[dict(role="user", content="hi"), dict(role="assistant", content="billing")])]
    error(w.prepare(jl(rows)), "d.jsonl", any_of=("line 4", "record 4", "row 4"))

@case("data", "field-map-onto-existing-column")
def _(w):
    rows = [dict(question=r["input"], instruction="also here", output=r["output"]) for r in ALP[:5]]
    w.write("d.jsonl", jl(rows))
    error(w.prepare(field_map={"question": "instruction"}), "instruction", any_of=("field_map",))

@case("data", "field-map-source-missing")
def _(w):
    w.write("d.jsonl", jl(ALP[:5]))
    error(w.prepare(field_map={"question": "instruction"}), "question")

@case("data", "data-format-mismatch")
def _(w):
    w.write("d.jsonl", jl(ALP[:5]))
    error(w.prepare(data_format="messages"), "messages", any_of=("line 1", "record 1", "row 1"))

@case("data", "json-top-level-object")
def _(w):
    r = w.prepare(json.dumps(dict(data=ALP[:3])), name="d.json")
    if r.rc == 0: accepted(r, 3)           # the records under the one key
    else: error(r, "d.json", any_of=("list", "array", "records"))

@case("data", "json-nested-100000-deep")
def _(w): error(w.prepare("[" * 100_000 + "]" * 100_000, name="d.json"), "d.json", any_of=("deep", "nest"))

@case("data", "missing-file")
def _(w): error(w.prepare(None, name="nope.jsonl"), "nope.jsonl", any_of=("not found", "does not exist", "no such"))

@case("data", "unsupported-extension")
def _(w): error(w.prepare("hello\n", name="d.txt"), "d.txt", any_of=(".jsonl", "supported", "format"))

@case("data", "corrupt-parquet")
def _(w): error(w.prepare(b"PAR1 this is not parquet", name="d.parquet"), "d.parquet")

@case("data", "directory-that-is-not-a-dataset")
def _(w):
    d = w.d/"notdata"; d.mkdir()
    (d/"notes.txt").write_text("hello"); (d/"image.png").write_bytes(b"\x89PNG\r\n")
    with open(d/"blob.bin", "wb") as f: f.truncate(2 * 2**30)     # 2 GB, sparse: costs no disk
    with PeakRSS() as m: r = w.prepare(None, name="notdata")
    error(r, "notdata", any_of=("not a dataset", "no data file", "dataset"))
    assert m.seconds < 20 and m.grew < 500, f"refusing a 2 GB folder took {m.seconds:.0f} s and {m.grew:.0f} MB"

@case("data", "50MB-single-line-record")
def _(w):
    p = w.d/"d.jsonl"
    with open(p, "w", encoding="utf-8") as f:
        f.write(jl(ALP[:3]))
        f.write('{"instruction": "' + "lorem ipsum " * (50 * 2**20 // 12) + '", "output": "billing"}\n')
    with PeakRSS() as m: r = w.prepare()
    if r.rc == 0: accepted(r, 4)
    else: error(r, "d.jsonl", any_of=("line 4", "record 4", "mb", "bytes", "too long", "too large"))
    assert m.seconds < 60 and m.grew < 1500, f"a 50 MB record took {m.seconds:.0f} s and {m.grew:.0f} MB before an answer"

@case("data", "demo-unknown-split")
def _(w): error(w.prepare(None, name="x", dataset="demo:nope"), "demo", any_of=("train", "val", "test"))

@case("data", "hub-dataset-offline")
def _(w):
    error(w.prepare(None, name="x", dataset="no-such-user/no-such-dataset"), "no-such-user/no-such-dataset")

@case("data", "val-dataset-broken")
def _(w):
    w.write("d.jsonl", jl(ALP)); w.write("v.jsonl", '{"instruction": \n')
    error(w.prepare(val_dataset=str(w.d/"v.jsonl")), "v.jsonl", "line 1")

@case("data", "overlong-drop-counted")
def _(w):
    rows = ALP[:6] + [dict(instruction="word " * 400, output="billing")] * 2
    accepted(w.prepare(jl(rows), overlong="drop", max_seq_len=200), 8)

@case("data", "jsonl-utf8-bom")
def _(w): accepted(w.prepare(("\ufeff" + jl(ALP)).encode("utf-8")), 10)

@case("data", "json-extension-holding-jsonl")
def _(w):
    r = w.prepare(jl(ALP), name="d.json")
    if r.rc == 0: accepted(r, 10)
    else: error(r, "d.json", any_of=(".jsonl", "one json", "line"))

@case("data", "alpaca-extra-fields-accepted")
def _(w): accepted(w.prepare(jl([dict(r, id=i, meta=dict(source="x")) for i, r in enumerate(ALP)])), 10)

@case("data", "alpaca-system-not-text")
def _(w): error(w.prepare(jl(ALP[:3] + [dict(ALP[3], system=["be", "nice"])])), "d.jsonl", "system",
                any_of=("line 4", "record 4", "row 4"))

@case("data", "messages-extra-keys-accepted")
def _(w):
    rows = [dict(messages=[dict(role="user", content=r["input"], name="u1"), dict(role="assistant", content=r["output"],
                                                                             weight=1)]) for r in ALP[:5]]
    accepted(w.prepare(jl(rows)), 5)

@case("data", "dataset-not-a-string")
def _(w): error(w.cli("prepare", w.config(cfg_text(w, "").replace(f"dataset: {w.d/'d.jsonl'}", "dataset: 123")), "--preview", "0"),
                "dataset")

# ---------------------------------------------------------------------------------------------------------------------
# configs

def cfg_text(w, body:str)->str:
    return f"model_name: tiny-llama\ndataset: {w.d/'d.jsonl'}\noutput_dir: {w.d/'out'}\nval_fraction: 0.0\n" + body

@case("config", "learning_rate-1e-4-yaml")
def _(w):
    w.write("d.jsonl", jl(ALP))
    accepted(w.cli("prepare", w.config(cfg_text(w, "learning_rate: 1e-4\nweight_decay: 1e-2\nlora_alpha: 1e2\n")),
                   "--preview", "0", "--out", w.d/"p"), 10)

@case("config", "learning_rate-1e-4-override")
def _(w):
    w.write("d.jsonl", jl(ALP))
    accepted(w.cli("prepare", w.config(), "--preview", "0", "--out", w.d/"p", "--learning_rate", "1e-4"), 10)

@case("config", "yaml-duplicate-key")
def _(w): error(w.cli("train", w.config(cfg_text(w, "lora_r: 8\nlearning_rate: 1e-3\nlora_r: 16\n"))), "lora_r", "line 7",
                any_of=("duplicate",))

@case("config", "seed-2**32")
def _(w): error(w.cli("train", w.config(cfg_text(w, f"seed: {2**32}\n"))), "seed")

@case("config", "seed-2**32-prepare")
def _(w):
    w.write("d.jsonl", jl(ALP))
    error(w.cli("prepare", w.config(cfg_text(w, f"seed: {2**32}\n")), "--preview", "0"), "seed")

@case("config", "seed-negative")
def _(w): error(w.cli("train", w.config(cfg_text(w, "seed: -1\n"))), "seed")

@case("config", "seed-override-too-big")
def _(w): error(w.cli("train", w.config(), "--seed", str(2**40)), "seed")

@case("config", "output_dir-is-a-file")
def _(w):
    w.write("d.jsonl", jl(ALP)); f = w.write("taken", "I am a file")
    error(w.cli("train", w.config(output_dir=str(f))), "output_dir", "taken")

@case("config", "output_dir-is-a-file-prepare")
def _(w):
    w.write("d.jsonl", jl(ALP)); f = w.write("taken", "I am a file")
    error(w.cli("prepare", w.config(output_dir=str(f)), "--preview", "0"), "output_dir", "taken")

@case("config", "output_dir-under-a-file")
def _(w):
    w.write("d.jsonl", jl(ALP)); f = w.write("taken", "I am a file")
    error(w.cli("train", w.config(output_dir=str(f/"run"))), "output_dir", "taken")

@case("config", "unknown-key-typo")
def _(w): error(w.cli("train", w.config(cfg_text(w, "learnin_rate: 1e-3\n"))), "learnin_rate", "learning_rate")

@case("config", "unknown-override")
def _(w): error(w.cli("train", w.config(), "--not_a_field", "3"), "not_a_field")

@case("config", "override-without-value")
def _(w): error(w.cli("train", w.config(), "--lora_r"), "lora_r")

@case("config", "override-wrong-type")
def _(w): error(w.cli("train", w.config(), "--max_steps", "abc"), "max_steps")

@case("config", "wrong-type-lora_r")
def _(w): error(w.cli("train", w.config(cfg_text(w, "lora_r: sixteen\n"))), "lora_r")

@case("config", "lora_r-zero")
def _(w): error(w.cli("train", w.config(cfg_text(w, "lora_r: 0\n"))), "lora_r")

@case("config", "unknown-method")
def _(w): error(w.cli("train", w.config(cfg_text(w, "method: lorax\n"))), "method", "lora")

@case("config", "learning_rate-nan")
def _(w): error(w.cli("train", w.config(cfg_text(w, "learning_rate: .nan\n"))), "learning_rate")

@case("config", "learning_rate-inf")
def _(w): error(w.cli("train", w.config(cfg_text(w, "learning_rate: .inf\n"))), "learning_rate")

@case("config", "num_epochs-zero")
def _(w): error(w.cli("train", w.config(cfg_text(w, "num_epochs: 0\n"))), "num_epochs")

@case("config", "val_fraction-1.5")
def _(w): error(w.cli("train", w.config(cfg_text(w, "").replace("val_fraction: 0.0", "val_fraction: 1.5"))), "val_fraction")

@case("config", "max_seq_len-float")
def _(w):
    w.write("d.jsonl", jl(ALP))
    r = w.cli("prepare", w.config(cfg_text(w, "max_seq_len: 1.5e2\n")), "--preview", "0", "--out", w.d/"p")
    if r.rc == 0: accepted(r, 10)
    else: error(r, "max_seq_len")

@case("config", "packing-not-a-bool")
def _(w): error(w.cli("train", w.config(cfg_text(w, "packing: maybe\n"))), "packing")

@case("config", "field_map-not-a-mapping")
def _(w): error(w.cli("train", w.config(cfg_text(w, "field_map: [question, instruction]\n"))), "field_map")

@case("config", "target_modules-empty")
def _(w): error(w.cli("train", w.config(cfg_text(w, "target_modules: []\n"))), "target_modules")

@case("config", "report_to-unknown")
def _(w): error(w.cli("train", w.config(cfg_text(w, "report_to: mlflow\n"))), "report_to", "mlflow")

@case("config", "yaml-syntax-error")
def _(w): error(w.cli("train", w.config("model_name: tiny-llama\n  lora_r: 8\n: oops\n")), "c.yaml", "line")

@case("config", "yaml-tab-indent")
def _(w): error(w.cli("train", w.config("model_name: tiny-llama\nfield_map:\n\tq: instruction\n")), "c.yaml", "line")

@case("config", "yaml-top-level-list")
def _(w): error(w.cli("train", w.config("- model_name: tiny-llama\n")), "c.yaml", any_of=("mapping", "dict", "key: value"))

@case("config", "yaml-empty-file")
def _(w):
    r = w.cli("train", w.config(""))
    error(r, any_of=("empty", "dataset"))

@case("config", "yaml-nested-100000-deep")
def _(w): error(w.cli("train", w.config("lora_r: " + "[" * 100_000 + "]" * 100_000 + "\n")), "c.yaml",
                any_of=("deep", "nest", "lora_r"))

@case("config", "yaml-alias-bomb")
def _(w):
    text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    t0 = time.time(); r = w.cli("train", w.config(text))
    error(r, "c.yaml", any_of=("unknown", "field", "alias", "a"))
    assert time.time() - t0 < 20

@case("config", "config-file-missing")
def _(w): error(w.cli("train", w.d/"nope.yaml"), "nope.yaml", any_of=("not found", "does not exist", "no such"))

@case("config", "config-not-utf8")
def _(w): error(w.cli("train", w.write("c.yaml", b"model_name: tiny-llama\nsystem_prompt: caf\xe9\n")), "c.yaml",
                any_of=("utf-8", "encoding", "utf8"))

@case("config", "config-is-a-directory")
def _(w): error(w.cli("train", w.d), any_of=("directory", "yaml", "not a file"))

@case("config", "system_prompt-lone-surrogate")
def _(w):
    w.write("d.jsonl", jl(ALP))
    r = w.cli("prepare", w.config(cfg_text(w, 'system_prompt: "be nice \\ud800"\n')), "--preview", "0", "--out", w.d/"p")
    error(r, "system_prompt", any_of=("surrogate", "not valid text", "unicode"))

@case("config", "chat_template-broken-jinja")
def _(w):
    w.write("d.jsonl", jl(ALP))
    r = w.cli("prepare", w.config(cfg_text(w, 'chat_template: "{% for m in messages %}{{ m.content }"\n')),
              "--preview", "0", "--out", w.d/"p")
    error(r, any_of=("chat_template", "chat template"))

@case("config", "resume-without-checkpoint")
def _(w):
    w.write("d.jsonl", jl(ALP))
    r = w.cli("train", w.config(resume=True))
    error(r, "resume", any_of=("checkpoint", "no run"))

@case("config", "output_dir-empty")
def _(w):
    w.write("d.jsonl", jl(ALP))
    error(w.cli("prepare", w.config(cfg_text(w, "").replace(f"output_dir: {w.d/'out'}", "output_dir: ''")), "--preview", "0"),
          "output_dir")

@case("config", "target-module-not-in-model")
def _(w):
    w.write("d.jsonl", jl(ALP))
    error(w.cli("train", w.config(target_modules=["q_proj", "qkv_fused"], max_steps=1)), "qkv_fused")

@case("config", "output_dir-unwritable")
def _(w):
    w.write("d.jsonl", jl(ALP))
    error(w.cli("train", w.config(output_dir="/proc/ft_nb_run", max_steps=1)), "/proc/ft_nb_run")

@case("config", "overwrite_output_dir-keeps-user-files")
def _(w):
    w.write("d.jsonl", jl(ALP)); out = w.d/"out"; out.mkdir()
    (out/"notes.txt").write_text("my notes"); (out/"ft_nb_config.yaml").write_text("model_name: tiny-llama\n")
    r = w.cli("train", w.config(overwrite_output_dir=True, max_steps=1, per_device_batch_size=2, eval_on_start=False))
    no_crash(r); assert r.rc == 0, f"training over an old run with overwrite_output_dir failed: {r.message}"
    assert (out/"notes.txt").exists(), "overwrite_output_dir deleted a file ft_nb never wrote (notes.txt)"

@case("config", "dataset-unset")
def _(w): error(w.cli("prepare", w.config(cfg_text(w, "").replace(f"dataset: {w.d/'d.jsonl'}\n", "")), "--preview", "0"),
                "dataset")

# ---------------------------------------------------------------------------------------------------------------------
# command lines

INFER = ("--base", "tiny-llama", "--device", "cpu", "--precision", "fp32", "--no-progress")

@case("cli", "unknown-command")
def _(w): error(w.cli("trian", "c.yaml"), "trian", any_of=("train", "choose", "invalid"))

@case("cli", "infer-no-prompt-or-input")
def _(w): error(w.cli("infer", *INFER), any_of=("--prompt", "--input"))

@case("cli", "infer-prompt-and-input")
def _(w): error(w.cli("infer", *INFER, "--prompt", "hi", "--input", "x.jsonl", "--output", "y.jsonl"), "--prompt", "--input")

@case("cli", "infer-input-without-output")
def _(w): error(w.cli("infer", *INFER, "--input", w.write("p.jsonl", '{"prompt": "hi"}\n')), "--output")

@case("cli", "infer-max-new-tokens-not-int")
def _(w): error(w.cli("infer", *INFER, "--prompt", "hi", "--max-new-tokens", "abc"), "max-new-tokens", any_of=("int",))

@case("cli", "infer-max-new-tokens-negative")
def _(w): error(w.cli("infer", *INFER, "--prompt", "hi", "--max-new-tokens", "-5"), any_of=("max-new-tokens", "max_new_tokens"))

@case("cli", "infer-seed-2**32")
def _(w): error(w.cli("infer", *INFER, "--prompt", "hi", "--temperature", "0.7", "--seed", str(2**32)), "seed")

@case("cli", "infer-temperature-negative")
def _(w): error(w.cli("infer", *INFER, "--prompt", "hi", "--temperature", "-1"), "temperature")

@case("cli", "infer-top-p-above-1")
def _(w): error(w.cli("infer", *INFER, "--prompt", "hi", "--temperature", "0.7", "--top-p", "2"), any_of=("top-p", "top_p"))

@case("cli", "infer-adapter-missing")
def _(w): error(w.cli("infer", *INFER, "--adapter", w.d/"nope", "--prompt", "hi"), "nope")

@case("cli", "infer-adapter-not-an-adapter")
def _(w):
    (w.d/"plain").mkdir(); (w.d/"plain"/"notes.txt").write_text("x")
    error(w.cli("infer", *INFER, "--adapter", w.d/"plain", "--prompt", "hi"), "plain", any_of=("adapter_config.json", "adapter"))

@case("cli", "infer-base-not-a-model")
def _(w):
    (w.d/"notamodel").mkdir(); (w.d/"notamodel"/"x.txt").write_text("x")
    error(w.cli("infer", "--base", w.d/"notamodel", "--prompt", "hi", "--device", "cpu"), "notamodel")

@case("cli", "infer-base-unknown-offline")
def _(w): error(w.cli("infer", "--base", "no-such-org/no-such-model", "--prompt", "hi", "--device", "cpu"), "no-such-org/no-such-model")

@case("cli", "infer-input-invalid-json-line")
def _(w):
    p = w.write("p.jsonl", '{"prompt": "a"}\n{"prompt": \n{"prompt": "c"}\n')
    error(w.cli("infer", *INFER, "--input", p, "--output", w.d/"o.jsonl"), "p.jsonl", "line 2")

@case("cli", "infer-input-lone-surrogate")
def _(w):
    p = w.write("p.jsonl", '{"prompt": "a"}\n{"prompt": "b \\udc80"}\n')
    error(w.cli("infer", *INFER, "--input", p, "--output", w.d/"o.jsonl"), "p.jsonl", "line 2",
          any_of=("surrogate", "not valid text", "unicode"))

@case("cli", "infer-input-no-prompt-field")
def _(w):
    p = w.write("p.jsonl", '{"question": "a"}\n')
    error(w.cli("infer", *INFER, "--input", p, "--output", w.d/"o.jsonl"), "p.jsonl", "line 1", any_of=("--prompt-field",))

@case("cli", "infer-input-csv-unterminated-quote")
def _(w):
    p = w.write("p.csv", 'prompt\n"a\nb\nc\nd\n')
    r = w.cli("infer", *INFER, "--input", p, "--output", w.d/"o.jsonl", "--max-new-tokens", "1")
    error(r, "p.csv", any_of=("quote", "line"))

@case("cli", "infer-input-nested-deep")
def _(w):
    p = w.write("p.jsonl", '{"prompt": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    error(w.cli("infer", *INFER, "--input", p, "--output", w.d/"o.jsonl"), "p.jsonl", "line 1", any_of=("deep", "nest"))

@case("cli", "infer-input-empty")
def _(w):
    p = w.write("p.jsonl", "")
    r = w.cli("infer", *INFER, "--input", p, "--output", w.d/"o.jsonl")
    if r.rc == 0: no_crash(r); assert "0" in r.out, r.out
    else: error(r, "p.jsonl", any_of=("empty", "no prompt", "no record"))

@case("cli", "infer-output-is-a-directory")
def _(w):
    p = w.write("p.jsonl", '{"prompt": "a"}\n'); (w.d/"outdir").mkdir()
    error(w.cli("infer", *INFER, "--input", p, "--output", w.d/"outdir", "--max-new-tokens", "1"), "outdir")

@case("cli", "infer-output-is-the-input")
def _(w):
    p = w.write("p.jsonl", '{"prompt": "a"}\n{"prompt": "b"}\n')
    r = w.cli("infer", *INFER, "--input", p, "--output", p, "--max-new-tokens", "1")
    assert p.read_text() == '{"prompt": "a"}\n{"prompt": "b"}\n', "the input file was overwritten by its own answers"
    error(r, "p.jsonl", any_of=("same", "input"))

@case("cli", "infer-output-from-another-input")
def _(w):
    p = w.write("p.jsonl", '{"prompt": "a"}\n{"prompt": "b"}\n')
    o = w.write("o.jsonl", '{"prompt": "zzz", "index": 0, "response": "x"}\n')
    r = w.cli("infer", *INFER, "--input", p, "--output", o, "--max-new-tokens", "1")
    assert "zzz" in o.read_text(), "an existing output file of another input was thrown away without --overwrite"
    error(r, "o.jsonl", any_of=("--overwrite", "different input"))

@case("cli", "infer-input-csv-quoted-line-break")
def _(w):
    p = w.write("p.csv", 'id,prompt\n1,first\n2,"two\nlines"\n3,third\n')
    r = w.cli("infer", *INFER, "--input", p, "--output", w.d/"o.jsonl", "--max-new-tokens", "1", "--batch-size", "2")
    no_crash(r); assert r.rc == 0, r.err[-600:]
    rows = [json.loads(l) for l in (w.d/"o.jsonl").read_text().splitlines()]
    assert [x["id"] for x in rows] == ["1", "2", "3"] and rows[1]["prompt"] == "two\nlines", rows

@case("cli", "eval-test-file-bad-line")
def _(w):
    w.write("t.jsonl", jl(demo_rows(2, "test")) + '{"instruction": "x", "output": \n')
    error(w.cli("eval", w.config(test_dataset=str(w.d/"t.jsonl")), "--limit", "2", "--no-val-loss"), "t.jsonl", "line 3")

@case("cli", "serve-help-prefers-api-key-env")
def _(w):
    r = w.cli("serve", "--help")
    no_crash(r); assert r.rc == 0 and "FT_NB_API_KEY" in r.out, f"`ft-nb serve --help` does not point to FT_NB_API_KEY: {r.out[-800:]}"

@case("cli", "infer-input-50MB-line")
def _(w):
    p = w.d/"p.jsonl"
    with open(p, "w") as f: f.write('{"prompt": "a"}\n{"prompt": "' + "lorem ipsum " * (50 * 2**20 // 12) + '"}\n')
    with PeakRSS() as m: r = w.cli("infer", *INFER, "--input", p, "--output", w.d/"o.jsonl", "--max-new-tokens", "1")
    error(r, "p.jsonl", any_of=("line 2", "too long", "too large", "tokens", "context"))
    assert m.seconds < 60 and m.grew < 1500, f"a 50 MB prompt took {m.seconds:.0f} s and {m.grew:.0f} MB before an answer"

@case("cli", "infer-input-is-a-directory")
def _(w): error(w.cli("infer", *INFER, "--input", w.d, "--output", w.d/"o.jsonl"), any_of=("directory", "not a file"))

@case("cli", "infer-prompt-undecodable-bytes")
def _(w):
    r = w.cli("infer", *INFER, "--prompt", "caf\udce9 au lait", "--max-new-tokens", "1")
    if r.rc == 0: no_crash(r)
    else: error(r, any_of=("prompt", "surrogate", "utf-8", "unicode"))

@case("cli", "prepare-out-is-a-file")
def _(w):
    w.write("d.jsonl", jl(ALP)); f = w.write("taken", "a file")
    error(w.cli("prepare", w.config(), "--preview", "0", "--out", f), "taken")

@case("cli", "merge-out-is-the-adapter")
def _(w, good_adapter):
    d = w.d/"run"; shutil.copytree(good_adapter, d)
    before = (d/"adapter_model.safetensors").read_bytes()
    r = w.cli("merge", d, "--out", d, "--overwrite", "--device", "cpu")
    assert (d/"adapter_model.safetensors").exists() and (d/"adapter_model.safetensors").read_bytes() == before, \
        "merge --out ADAPTER --overwrite destroyed the adapter it merges"
    error(r, any_of=("same", "adapter", "--out"))

@case("cli", "merge-out-is-a-file")
def _(w, good_adapter):
    f = w.write("taken", "a file")
    error(w.cli("merge", good_adapter, "--out", f, "--device", "cpu"), "taken")

@case("cli", "ratings-nested-deep")
def _(w): error(w.cli("ratings", w.write("r.jsonl", "[" * 100_000 + "]" * 100_000 + "\n")), "r.jsonl", "line 1")

@case("cli", "prepare-bad-split-choice")
def _(w): error(w.cli("prepare", w.config(), "--split", "nope"), "split", any_of=("train", "choice"))

@case("cli", "prepare-preview-not-int")
def _(w): error(w.cli("prepare", w.config(), "--preview", "lots"), "preview")

@case("cli", "argv-with-undecodable-filename")
def _(w): error(w.cli("train", "caf\udce9.yaml"), any_of=("not found", "does not exist", "no such", "caf"))

@case("cli", "merge-missing-adapter")
def _(w): error(w.cli("merge", w.d/"nope"), "nope")

@case("cli", "merge-not-an-adapter")
def _(w):
    (w.d/"plain").mkdir(); (w.d/"plain"/"x.txt").write_text("x")
    error(w.cli("merge", w.d/"plain"), "plain")

@case("cli", "export-missing-model")
def _(w): error(w.cli("export", w.d/"nope"), "nope")

@case("cli", "export-bad-type")
def _(w): error(w.cli("export", w.d, "--type", "q4_k"), "type", any_of=("f16", "choice"))

@case("cli", "card-missing-path")
def _(w): error(w.cli("card", w.d/"nope"), "nope")

@case("cli", "ratings-missing-file")
def _(w): error(w.cli("ratings", w.d/"nope.jsonl"), "nope.jsonl")

@case("cli", "ratings-broken-jsonl")
def _(w): error(w.cli("ratings", w.write("r.jsonl", '{"winner": "a"}\n{"winner": \n')), "r.jsonl", any_of=("line 2", "line 1"))

@case("cli", "eval-limit-negative")
def _(w): error(w.cli("eval", w.config(), "--limit", "-3"), "limit")

@case("cli", "serve-port-out-of-range")
def _(w): error(w.cli("serve", "--base", "tiny-llama", "--port", "99999", "--device", "cpu"), "port")

@case("cli", "serve-adapter-missing")
def _(w): error(w.cli("serve", "--base", "tiny-llama", "--adapter", f"bot={w.d/'nope'}", "--port", "0"), "nope")

@case("cli", "serve-bad-adapter-name")
def _(w):
    (w.d/"a").mkdir()
    error(w.cli("serve", "--base", "tiny-llama", "--adapter", f"../etc={w.d/'a'}", "--port", "0"), any_of=("name", "adapter"))

# --- run directories that are not complete: every reader refuses them by name

@pytest.fixture(scope="module")
def good_adapter(tmp_path_factory):
    "A small LoRA adapter of tiny-llama written like a finished ft_nb run (manifest last, when ft_nb.runs has it)."
    from peft import LoraConfig, get_peft_model
    from ft_nb.models import make_tiny_model
    d = tmp_path_factory.mktemp("adapter")/"run"
    model, tok = make_tiny_model("llama")
    pm = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    pm.save_pretrained(d); tok.save_pretrained(d)
    cfg = dict(model_name="tiny-llama", method="lora", lora_r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    (d/"ft_nb_config.yaml").write_text(yaml.safe_dump(cfg))
    man = dict(ft_nb_manifest=1, base_model="tiny-llama", method="lora", config=cfg)
    try:
        from ft_nb.runs import write_manifest
        write_manifest(d, man)
    except ImportError: (d/"ft_nb_manifest.json").write_text(json.dumps(man))
    return d

def damaged(w, good, how)->Path:
    d = w.d/"run"; shutil.copytree(good, d); how(d); return d

def _cut(p): p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])

@case("run", "infer-complete-adapter-accepted")
def _(w, good_adapter):
    r = w.cli("infer", "--adapter", good_adapter, "--prompt", "hi", "--max-new-tokens", "2", "--device", "cpu")
    no_crash(r); assert r.rc == 0, f"a complete adapter was refused: {r.err[-600:]}"

@case("run", "infer-truncated-tokenizer.json")
def _(w, good_adapter):
    d = damaged(w, good_adapter, lambda d: _cut(d/"tokenizer.json"))
    error(w.cli("infer", "--adapter", d, "--prompt", "hi", "--max-new-tokens", "2", "--device", "cpu"), "tokenizer.json")

@case("run", "infer-truncated-weights")
def _(w, good_adapter):
    d = damaged(w, good_adapter, lambda d: _cut(d/"adapter_model.safetensors"))
    error(w.cli("infer", "--adapter", d, "--prompt", "hi", "--max-new-tokens", "2", "--device", "cpu"), "adapter_model.safetensors")

@case("run", "infer-weights-without-manifest")
def _(w, good_adapter):
    d = damaged(w, good_adapter, lambda d: (d/"ft_nb_manifest.json").unlink())
    error(w.cli("infer", "--adapter", d, "--prompt", "hi", "--max-new-tokens", "2", "--device", "cpu"), "manifest")

@case("run", "infer-adapter_config-not-json")
def _(w, good_adapter):
    d = damaged(w, good_adapter, lambda d: (d/"adapter_config.json").write_text('{"peft_type": "LORA", '))
    error(w.cli("infer", "--adapter", d, "--prompt", "hi", "--max-new-tokens", "2", "--device", "cpu"), "adapter_config.json")

@case("run", "infer-adapter_config-nested-deep")
def _(w, good_adapter):
    d = damaged(w, good_adapter, lambda d: (d/"adapter_config.json").write_text("[" * 100_000 + "]" * 100_000))
    error(w.cli("infer", "--adapter", d, "--prompt", "hi", "--max-new-tokens", "2", "--device", "cpu"), "adapter_config.json")

@case("run", "merge-truncated-weights")
def _(w, good_adapter):
    d = damaged(w, good_adapter, lambda d: _cut(d/"adapter_model.safetensors"))
    error(w.cli("merge", d, "--out", w.d/"merged", "--device", "cpu"), "adapter_model.safetensors")
    assert not (w.d/"merged").exists(), "a refused merge left an output directory"

@case("run", "card-weights-without-manifest")
def _(w, good_adapter):
    d = damaged(w, good_adapter, lambda d: (d/"ft_nb_manifest.json").unlink())
    error(w.cli("card", d), "manifest")

@case("run", "eval-truncated-weights")
def _(w, good_adapter):
    d = damaged(w, good_adapter, lambda d: _cut(d/"adapter_model.safetensors"))
    w.write("t.jsonl", jl(demo_rows(3, "test")))
    cfg = w.config(test_dataset=str(w.d/"t.jsonl"), dataset=str(w.d/"t.jsonl"))
    error(w.cli("eval", cfg, "--adapter", d, "--no-base", "--limit", "2"), "adapter_model.safetensors")

@pytest.fixture(scope="module")
def plain_adapter(good_adapter, tmp_path_factory):
    "The same adapter as a plain PEFT directory: no ft_nb manifest or config (accepted; its files are still checked)."
    d = tmp_path_factory.mktemp("plain")/"run"
    shutil.copytree(good_adapter, d)
    for n in ("ft_nb_manifest.json", "ft_nb_config.yaml"): (d/n).unlink(missing_ok=True)
    return d

@case("run", "plain-peft-adapter-accepted")
def _(w, plain_adapter):
    r = w.cli("infer", "--base", "tiny-llama", "--adapter", plain_adapter, "--prompt", "hi", "--max-new-tokens", "2", "--device", "cpu")
    no_crash(r); assert r.rc == 0, f"a plain PEFT adapter was refused: {r.err[-600:]}"

@case("run", "plain-peft-adapter_config-not-json")
def _(w, plain_adapter):
    d = damaged(w, plain_adapter, lambda d: (d/"adapter_config.json").write_text('{"peft_type": "LORA", '))
    error(w.cli("infer", "--base", "tiny-llama", "--adapter", d, "--prompt", "hi", "--device", "cpu"), "adapter_config.json")

@case("run", "plain-peft-adapter_config-nested-deep")
def _(w, plain_adapter):
    d = damaged(w, plain_adapter, lambda d: (d/"adapter_config.json").write_text("[" * 100_000 + "]" * 100_000))
    error(w.cli("infer", "--base", "tiny-llama", "--adapter", d, "--prompt", "hi", "--device", "cpu"), "adapter_config.json")

@case("run", "plain-peft-truncated-weights")
def _(w, plain_adapter):
    d = damaged(w, plain_adapter, lambda d: _cut(d/"adapter_model.safetensors"))
    error(w.cli("infer", "--base", "tiny-llama", "--adapter", d, "--prompt", "hi", "--device", "cpu"), "adapter_model.safetensors")

@case("run", "plain-peft-weights-missing")
def _(w, plain_adapter):
    d = damaged(w, plain_adapter, lambda d: (d/"adapter_model.safetensors").unlink())
    error(w.cli("merge", d, "--base", "tiny-llama", "--out", w.d/"m", "--device", "cpu"), "adapter_model")

# ---------------------------------------------------------------------------------------------------------------------
# HTTP requests to the server (in-process, 127.0.0.1, tiny model)

@pytest.fixture(scope="module")
def server():
    try: from ft_nb.serve import ModelServer, build_app, ServerThread, load_engine
    except ImportError: from ft_nb.deploy import ModelServer, build_app, ServerThread, load_engine
    import httpx
    srv = ModelServer(load_engine("tiny-llama", device="cpu", precision="fp32"), max_tokens_limit=64)
    with ServerThread(build_app(srv), host="127.0.0.1", port=0) as th:
        with httpx.Client(base_url=f"http://127.0.0.1:{th.port}", timeout=60) as c:
            name = c.get("/v1/models").json()["data"][0]["id"]
            yield c, name, srv.engine

KEY = "sk-test-" + "k" * 24

@pytest.fixture(scope="module")
def keyed_server(server):
    "A second server on the same engine that needs `Authorization: Bearer KEY`."
    try: from ft_nb.serve import ModelServer, build_app, ServerThread
    except ImportError: from ft_nb.deploy import ModelServer, build_app, ServerThread
    import httpx
    c, name = server[0], server[1]
    srv = ModelServer(server[2], max_tokens_limit=64, api_key=KEY)
    with ServerThread(build_app(srv), host="127.0.0.1", port=0) as th:
        with httpx.Client(base_url=f"http://127.0.0.1:{th.port}", timeout=60) as kc: yield kc, name

def keyed(keyed_server, headers=None, path="/v1/chat/completions", params=None):
    c, name = keyed_server
    t0 = time.time()
    r = c.post(path, content=json.dumps(dict(model=name, messages=msgs(), max_tokens=2)).encode(), params=params,
               headers={"content-type": "application/json", **(headers or {})})
    r.elapsed_s = time.time() - t0
    return r

def post(server, body, path="/v1/chat/completions", raw=False, headers=None):
    c = server[0]
    data = body if raw else json.dumps(body).encode()
    t0 = time.time()
    r = c.post(path, content=data, headers={"content-type": "application/json", **(headers or {})})
    r.elapsed_s = time.time() - t0
    return r

def refused(r, status:int|tuple=400, param:str|None=None, within:float=5.0):
    "A 4xx in OpenAI's error shape, naming `param`, answered within `within` seconds."
    assert r.status_code < 500, f"HTTP {r.status_code} (a server error) for a bad request: {r.text[:500]}"
    assert r.status_code in ((status,) if isinstance(status, int) else status), f"HTTP {r.status_code}, want {status}: {r.text[:400]}"
    try: e = r.json()["error"]
    except Exception: pytest.fail(f"not OpenAI's error shape: {r.text[:300]}")
    assert set(e) >= {"message", "type", "param", "code"} and e["message"], f"error object lacks fields: {e}"
    if param: assert param in (e.get("param") or "") or param in e["message"], f"the error does not name {param!r}: {e}"
    assert r.elapsed_s < within, f"took {r.elapsed_s:.1f} s to refuse (bound {within} s)"

def msgs(text="hi"): return [dict(role="user", content=text)]
def chat(server, **kw): return dict(model=server[1], messages=msgs(), max_tokens=2, **kw)

@case("http", "valid-chat-sanity")
def _(w, server):
    r = post(server, chat(server)); assert r.status_code == 200, r.text[:300]

@case("http", "valid-content-array")
def _(w, server):
    r = post(server, dict(chat(server), messages=[dict(role="user", content=[dict(type="text", text="hi")])]))
    assert r.status_code == 200, r.text[:300]

@case("http", "valid-stream")
def _(w, server):
    r = post(server, chat(server, stream=True))
    assert r.status_code == 200 and "data: [DONE]" in r.text, r.text[:300]

@case("http", "not-json")
def _(w, server): refused(post(server, b"{model: x", raw=True))

@case("http", "not-utf8")
def _(w, server): refused(post(server, b'{"model": "\xff\xfe"}', raw=True))

@case("http", "json-array-body")
def _(w, server): refused(post(server, [1, 2]))

@case("http", "empty-body")
def _(w, server): refused(post(server, b"", raw=True))

@case("http", "nested-100000-deep")
def _(w, server): refused(post(server, b'{"model": "m", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", raw=True))

@case("http", "missing-model")
def _(w, server): refused(post(server, dict(messages=msgs())), param="model")

@case("http", "unknown-model")
def _(w, server): refused(post(server, dict(model="../../etc/passwd", messages=msgs())), 404, param="model")

@case("http", "model-not-a-string")
def _(w, server): refused(post(server, dict(model=["x"], messages=msgs())), param="model")

@case("http", "messages-empty")
def _(w, server): refused(post(server, dict(chat(server), messages=[])), param="messages")

@case("http", "messages-not-a-list")
def _(w, server): refused(post(server, dict(chat(server), messages="hi")), param="messages")

@case("http", "messages-too-many")
def _(w, server): refused(post(server, dict(chat(server), messages=msgs() * 600)), param="messages")

@case("http", "role-unknown")
def _(w, server): refused(post(server, dict(chat(server), messages=[dict(role="wizard", content="hi")])), param="role")

@case("http", "content-missing")
def _(w, server): refused(post(server, dict(chat(server), messages=[dict(role="user")])), param="content")

@case("http", "content-null")
def _(w, server): refused(post(server, dict(chat(server), messages=[dict(role="user", content=None)])), param="content")

@case("http", "content-image-part")
def _(w, server):
    m = [dict(role="user", content=[dict(type="image_url", image_url=dict(url="http://127.0.0.1/x.png"))])]
    refused(post(server, dict(chat(server), messages=m)), param="content")

@case("http", "content-lone-surrogate")
def _(w, server):
    body = json.dumps(chat(server)).replace('"hi"', '"bad \\ud800 text"').encode()
    refused(post(server, body, raw=True), param="content")

@case("http", "content-lone-surrogate-streaming")
def _(w, server):
    body = json.dumps(chat(server, stream=True)).replace('"hi"', '"\\udfff"').encode()
    refused(post(server, body, raw=True), param="content")

@case("http", "tool-turn")
def _(w, server):
    m = [dict(role="user", content="hi"), dict(role="assistant", content=None, tool_calls=[dict(id="c", type="function",
         function=dict(name="f", arguments="{}"))]), dict(role="tool", tool_call_id="c", content="ok")]
    r = post(server, dict(chat(server), messages=m))
    if r.status_code != 200: refused(r, param="messages")

@case("http", "seed-2**32")
def _(w, server): refused(post(server, chat(server, seed=2**32, temperature=0.7)), param="seed")

@case("http", "seed-negative")
def _(w, server): refused(post(server, chat(server, seed=-1, temperature=0.7)), param="seed")

@case("http", "seed-huge-integer")
def _(w, server): refused(post(server, json.dumps(chat(server)).replace('"max_tokens": 2', '"seed": ' + "9" * 5000).encode(), raw=True))

@case("http", "stream-wrong-type")
def _(w, server): refused(post(server, chat(server, stream="yes")), param="stream")

@case("http", "stream_options-wrong-type")
def _(w, server): refused(post(server, chat(server, stream=True, stream_options="usage")), param="stream_options")

@case("http", "stream_options-include_usage-wrong-type")
def _(w, server): refused(post(server, chat(server, stream=True, stream_options=dict(include_usage="yes"))), param="include_usage")

@case("http", "stream_options-without-stream")
def _(w, server): refused(post(server, chat(server, stream_options=dict(include_usage=True))), param="stream_options")

@case("http", "stop-four-of-20000-chars")
def _(w, server): refused(post(server, chat(server, stop=["x" * 20_000] * 4)), param="stop", within=5)

@case("http", "stop-one-of-80000-chars")
def _(w, server): refused(post(server, chat(server, stop="y" * 80_000)), param="stop", within=5)

@case("http", "stop-five-strings")
def _(w, server): refused(post(server, chat(server, stop=["a", "b", "c", "d", "e"])), param="stop")

@case("http", "stop-empty-string")
def _(w, server): refused(post(server, chat(server, stop=[""])), param="stop")

@case("http", "stop-not-strings")
def _(w, server): refused(post(server, chat(server, stop=[1, 2])), param="stop")

@case("http", "max_tokens-huge")
def _(w, server): refused(post(server, chat(server) | dict(max_tokens=10**9)), param="max_tokens")

@case("http", "max_tokens-zero")
def _(w, server): refused(post(server, chat(server) | dict(max_tokens=0)), param="max_tokens")

@case("http", "max_tokens-string")
def _(w, server): refused(post(server, chat(server) | dict(max_tokens="10")), param="max_tokens")

@case("http", "max_tokens-float")
def _(w, server): refused(post(server, chat(server) | dict(max_tokens=2.5)), param="max_tokens")

@case("http", "max_completion_tokens-disagrees")
def _(w, server): refused(post(server, chat(server, max_completion_tokens=5)), param="max")

@case("http", "n-5")
def _(w, server): refused(post(server, chat(server, n=5)), param="n")

@case("http", "temperature-5")
def _(w, server): refused(post(server, chat(server, temperature=5)), param="temperature")

@case("http", "temperature-string")
def _(w, server): refused(post(server, chat(server, temperature="hot")), param="temperature")

@case("http", "temperature-nan")
def _(w, server): refused(post(server, json.dumps(chat(server)).replace('"max_tokens": 2', '"max_tokens": 2, "temperature": NaN').encode(), raw=True))

@case("http", "top_p-zero")
def _(w, server): refused(post(server, chat(server, temperature=0.5, top_p=0)), param="top_p")

@case("http", "logit_bias-huge")
def _(w, server):
    r = post(server, chat(server, logit_bias={str(i): 1 for i in range(60_000)}))
    if r.status_code != 200: refused(r, param="logit_bias")
    assert r.elapsed_s < 10, f"a 60,000-entry logit_bias took {r.elapsed_s:.1f} s"

@case("http", "logit_bias-not-numbers")
def _(w, server):
    r = post(server, chat(server, logit_bias={"hello": "world"}))
    if r.status_code != 200: refused(r, param="logit_bias")

@case("http", "frequency_penalty-unsupported")
def _(w, server):
    r = post(server, chat(server, frequency_penalty=1.5))
    if r.status_code != 200: refused(r, param="frequency_penalty")

@case("http", "prompt-too-long")
def _(w, server): refused(post(server, dict(chat(server), messages=msgs("word " * 150_000))), param="messages", within=10)

@case("http", "body-too-large")
def _(w, server): refused(post(server, dict(chat(server), messages=msgs("z" * 2_000_000))), 413)

@case("http", "duplicate-keys")
def _(w, server):
    r = post(server, ('{"model": "%s", "model": "other", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}'
                      % server[1]).encode(), raw=True)
    if r.status_code != 200: refused(r, (400, 404), param="model")

@case("http", "model-empty")
def _(w, server): refused(post(server, dict(chat(server), model="")), (400, 404), param="model")

@case("http", "max_tokens-true")
def _(w, server): refused(post(server, chat(server) | dict(max_tokens=True)), param="max_tokens")

@case("http", "n-true")
def _(w, server): refused(post(server, chat(server, n=True)), param="n")

@case("http", "stream-1")
def _(w, server): refused(post(server, chat(server, stream=1)), param="stream")

@case("http", "temperature-true")
def _(w, server): refused(post(server, chat(server, temperature=True)), param="temperature")

@case("http", "seed-float")
def _(w, server): refused(post(server, chat(server, seed=1.5, temperature=0.7)), param="seed")

@case("http", "body-too-large-chunked")
def _(w, server):
    c = server[0]
    def gen():
        yield b'{"model": "x", "messages": [{"role": "user", "content": "'
        for _ in range(40): yield b"z" * 65536
        yield b'"}]}'
    t0 = time.time(); r = c.post("/v1/chat/completions", content=gen(), headers={"content-type": "application/json"})
    r.elapsed_s = time.time() - t0
    refused(r, 413)

@case("http", "content-parts-too-many")
def _(w, server):
    refused(post(server, dict(chat(server), messages=[dict(role="user", content=[dict(type="text", text="a")] * 65)])),
            param="content")

@case("http", "stop-lone-surrogate")
def _(w, server):
    refused(post(server, json.dumps(chat(server, stop=["x"])).replace('["x"]', '["\\ud800"]').encode(), raw=True), param="stop")

@case("http", "model-lone-surrogate")
def _(w, server):
    r = post(server, json.dumps(chat(server)).replace(f'"{server[1]}"', '"\\udc00"').encode(), raw=True)
    refused(r, (400, 404), param="model")

@case("http", "unknown-field-lone-surrogate")
def _(w, server):
    r = post(server, json.dumps(chat(server, user="u")).replace('"u"', '"\\ud800"').encode(), raw=True)
    if r.status_code != 200: refused(r)

@case("http", "model-name-100k-chars")
def _(w, server):
    r = post(server, dict(chat(server), model="m" * 100_000))
    refused(r, (400, 404), param="model")
    assert len(r.content) < 4000, f"the error echoes the whole 100k-character name ({len(r.content)} bytes)"

@case("http", "response_format-json_object")
def _(w, server):
    r = post(server, chat(server, response_format=dict(type="json_object")))
    if r.status_code != 200: refused(r, param="response_format")

@case("http", "tools-given")
def _(w, server):
    r = post(server, chat(server, tools=[dict(type="function", function=dict(name="f", parameters={}))]))
    if r.status_code != 200: refused(r, param="tools")

@case("http", "body-with-utf8-bom")
def _(w, server):
    r = post(server, b"\xef\xbb\xbf" + json.dumps(chat(server)).encode(), raw=True)
    if r.status_code != 200: refused(r)

@case("http", "completions-prompt-list-of-two")
def _(w, server): refused(post(server, dict(model=server[1], prompt=["a", "b"], max_tokens=2), "/v1/completions"), param="prompt")

@case("http", "completions-prompt-empty")
def _(w, server): refused(post(server, dict(model=server[1], prompt="", max_tokens=2), "/v1/completions"), param="prompt")

@case("http", "completions-prompt-int")
def _(w, server): refused(post(server, dict(model=server[1], prompt=5, max_tokens=2), "/v1/completions"), param="prompt")

@case("http", "completions-lone-surrogate")
def _(w, server):
    body = json.dumps(dict(model=server[1], prompt="x", max_tokens=2)).replace('"x"', '"\\ud83d"').encode()
    refused(post(server, body, "/v1/completions", raw=True), param="prompt")

@case("http", "unknown-route")
def _(w, server): refused(post(server, chat(server), "/v1/embeddings"), 404)

@case("http", "wrong-method")
def _(w, server):
    c = server[0]; t0 = time.time(); r = c.get("/v1/chat/completions"); r.elapsed_s = time.time() - t0
    refused(r, 405)

@case("http", "text-plain-content-type")
def _(w, server):
    r = post(server, chat(server), headers={"content-type": "text/plain"})
    if r.status_code != 200: refused(r, (400, 415))

@case("http", "model-path-traversal-get")
def _(w, server):
    c = server[0]; t0 = time.time(); r = c.get("/v1/models/..%2F..%2Fetc%2Fpasswd"); r.elapsed_s = time.time() - t0
    refused(r, 404)

@case("http", "api-key-valid-sanity")
def _(w, keyed_server):
    r = keyed(keyed_server, {"authorization": f"Bearer {KEY}"}); assert r.status_code == 200, r.text[:300]

@case("http", "api-key-missing")
def _(w, keyed_server): refused(keyed(keyed_server), 401)

@case("http", "api-key-wrong")
def _(w, keyed_server):
    r = keyed(keyed_server, {"authorization": "Bearer " + KEY[:-1] + "x"}); refused(r, 401)
    assert KEY[:-1] not in r.text, "the error echoes the key"

@case("http", "api-key-in-query-string")
def _(w, keyed_server): refused(keyed(keyed_server, params={"api_key": KEY}), 401)

@case("http", "api-key-without-bearer")
def _(w, keyed_server): refused(keyed(keyed_server, {"authorization": KEY}), 401)

@case("http", "api-key-bad-request-still-401")
def _(w, keyed_server):
    c, _ = keyed_server; t0 = time.time()
    r = c.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    r.elapsed_s = time.time() - t0
    refused(r, 401)

# --- multi-task configs and adapter merges (issue 14)

def _tasks_cfg(w, tasks, **kw)->Path:
    "A multi-task config on the tiny model."
    return w.config(yaml.safe_dump(dict(model_name="tiny-llama", tasks=tasks, output_dir=str(w.d/"out"), **kw)))

@case("config", "tasks-weight-zero")
def _(w): error(w.cli("train", _tasks_cfg(w, [dict(name="a", dataset="demo", weight=0)])), "tasks", "weight 0", "> 0")

@case("config", "tasks-weight-negative")
def _(w): error(w.cli("train", _tasks_cfg(w, [dict(name="a", dataset="demo", weight=-2)])), "tasks", "weight -2")

@case("config", "tasks-duplicate-names")
def _(w):
    error(w.cli("train", _tasks_cfg(w, [dict(name="a", dataset="demo"), dict(name="a", dataset="extract")])),
          "tasks", "two tasks are named 'a'")

@case("cli", "eval-task-without-test-set")
def _(w):
    w.write("t.jsonl", jl(demo_rows(3)))
    cfg = _tasks_cfg(w, [dict(name="demo", dataset="demo"), dict(name="mine", dataset=str(w.d/"t.jsonl"))])
    error(w.cli("eval", cfg, "--limit", "1"), "task 'mine'", "test_dataset")

@pytest.fixture(scope="module")
def merge_parents(good_adapter, tmp_path_factory):
    "Adapters to merge with `good_adapter` (tiny-llama, r=4): r=4 and r=8 ones, DoRA, tiny-qwen2, prefix tuning."
    from peft import LoraConfig, PrefixTuningConfig, get_peft_model
    from ft_nb.models import make_tiny_model
    d, out = tmp_path_factory.mktemp("parents"), dict(a=good_adapter)
    lora = lambda r, **kw: LoraConfig(r=r, lora_alpha=2*r, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM", **kw)
    for name, arch, conf in (("b", "llama", lora(4)), ("r8", "llama", lora(8)), ("dora", "llama", lora(4, use_dora=True)),
                             ("qwen", "qwen2", lora(4)),
                             ("prefix", "llama", PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=4))):
        get_peft_model(make_tiny_model(arch)[0], conf).save_pretrained(d/name); out[name] = d/name
    return out

def _merge(w, p, *names, extra=()):
    r = w.cli("merge-adapters", *[p[n] for n in names], "--out", w.d/"merged", *extra)
    if r.rc: assert not (w.d/"merged").exists(), "a refused merge left an output directory"
    return r

@case("merge", "two-lora-adapters-accepted")
def _(w, merge_parents):
    r = _merge(w, merge_parents, "a", "b", extra=("--method", "ties", "--weights", "1,1", "--density", "0.5"))
    no_crash(r); assert r.rc == 0 and (w.d/"merged"/"adapter_model.safetensors").is_file(), r.err[-600:]

@case("merge", "different-base-models")
def _(w, merge_parents): error(_merge(w, merge_parents, "a", "qwen", extra=("--method", "cat")), "qwen", "same base model")

@case("merge", "lora-and-prefix")
def _(w, merge_parents): error(_merge(w, merge_parents, "a", "prefix", extra=("--method", "cat")), "prefix", "virtual tokens")

@case("merge", "dora-refused-with-reason")
def _(w, merge_parents): error(_merge(w, merge_parents, "a", "dora", extra=("--method", "cat")), "DoRA", "magnitude")

@case("merge", "ranks-differ-ties")
def _(w, merge_parents): error(_merge(w, merge_parents, "a", "r8", extra=("--method", "ties")), "equal ranks", "[4, 8]")

@case("merge", "weights-wrong-length")
def _(w, merge_parents): error(_merge(w, merge_parents, "a", "b", extra=("--weights", "1,1,1")), "weights", "3 weight(s)")

@case("merge", "density-zero")
def _(w, merge_parents): error(_merge(w, merge_parents, "a", "b", extra=("--density", "0")), "density", "(0, 1]")

@case("merge", "density-above-one")
def _(w, merge_parents):
    error(_merge(w, merge_parents, "a", "b", extra=("--method", "dare_ties", "--density", "1.5")), "density", "(0, 1]")

# --- issue 25: ft-nb tune (cases below this line) ---

def _tune_cfg(w, search=None, tune=None, name:str="c.yaml", **kw)->Path:
    "A tune config on the tiny model (24 demo records, 6 held out, 2 steps a trial); `search`/`tune` blocks as given."
    if not (w.d/"d.jsonl").exists(): w.write("d.jsonl", jl(demo_rows(24)))
    d = dict(model_name="tiny-llama", dataset=str(w.d/"d.jsonl"), val_fraction=0.25, max_seq_len=128, max_steps=2,
             eval_steps=2, per_device_batch_size=4, report_to="none", seed=0, output_dir=str(w.d/"out"),
             search=search or dict(learning_rate={"loguniform": [1e-3, 1e-2]}))
    if tune is not None: d["tune"] = tune
    d.update(kw)
    return w.config(yaml.safe_dump(d, sort_keys=False), name=name)

def _tune_setting(w, **tn): return w.cli("tune", _tune_cfg(w, tune=tn), "--pruner", "none")

def _tune_space(w, **sp): return w.cli("tune", _tune_cfg(w, search=sp))

@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    "One finished study of one trial (default journal in its tuning directory): (work folder, config, tuning dir)."
    w = Work(tmp_path_factory.mktemp("tuned"))
    cfg = _tune_cfg(w)
    r = w.cli("tune", cfg, "--trials", "1", "--pruner", "none", "--out", w.d/"tuning")
    assert r.rc == 0, r.err[-1500:]
    return w.d, cfg, w.d/"tuning"

@case("tune", "settings-trials-true")
def _(w): error(_tune_setting(w, trials=True), "c.yaml", "tune: trials", "whole number", "bool")

@case("tune", "settings-trials-text")
def _(w): error(_tune_setting(w, trials="five"), "c.yaml", "tune: trials", "got str 'five'")

@case("tune", "settings-trials-fraction")
def _(w): error(_tune_setting(w, trials=2.5), "c.yaml", "tune: trials", "whole number")

@case("tune", "settings-trials-zero")
def _(w): error(_tune_setting(w, trials=0), "c.yaml", "tune: trials", ">= 1")

@case("tune", "settings-timeout-nan")
def _(w): error(_tune_setting(w, timeout_s=float("nan")), "c.yaml", "tune: timeout_s", "not a finite number")

@case("tune", "settings-timeout-zero")
def _(w): error(_tune_setting(w, timeout_s=0), "c.yaml", "tune: timeout_s", "> 0")

@case("tune", "settings-timeout-text")
def _(w): error(_tune_setting(w, timeout_s="1h"), "c.yaml", "tune: timeout_s", "expected a number")

@case("tune", "settings-startup-trials-negative")
def _(w): error(_tune_setting(w, startup_trials=-1), "c.yaml", "tune: startup_trials", ">= 0")

@case("tune", "settings-seed-text")
def _(w): error(_tune_setting(w, seed="abc"), "c.yaml", "tune: seed", "whole number")

@case("tune", "settings-seed-2**32")
def _(w): error(_tune_setting(w, seed=2**32), "c.yaml", "tune: seed", "<= 4294967295")

@case("tune", "settings-val-limit-zero")
def _(w): error(_tune_setting(w, val_limit=0, objective="accuracy"), "c.yaml", "tune: val_limit", ">= 1")

@case("tune", "settings-objective-list")
def _(w): error(_tune_setting(w, objective=["accuracy"]), "c.yaml", "tune: objective", "got list")

@case("tune", "settings-objective-unknown-metric")
def _(w): error(_tune_setting(w, objective="acuracy"), "objective", "acuracy", "not a metric")

@case("tune", "settings-pruner-list")
def _(w): error(w.cli("tune", _tune_cfg(w, tune=dict(pruner=["median"]))), "c.yaml", "tune: pruner", "median")

@case("tune", "settings-keep-number")
def _(w): error(_tune_setting(w, keep=1), "c.yaml", "tune: keep", "best")

@case("tune", "settings-storage-number")
def _(w): error(_tune_setting(w, storage=5), "c.yaml", "tune: storage", "got int 5")

@case("tune", "settings-study-name-empty")
def _(w): error(_tune_setting(w, study_name="  "), "c.yaml", "tune: study_name", "non-empty")

@case("tune", "settings-unknown-key")
def _(w): error(_tune_setting(w, trails=3), "c.yaml", "unknown tune setting", "trails")

@case("tune", "settings-block-a-list")
def _(w): error(w.cli("tune", _tune_cfg(w, tune=[3])), "c.yaml", "tune:", "mapping")

@case("tune", "settings-no-budget")
def _(w): error(_tune_setting(w, trials=None), "c.yaml", "budget", "trials")

@case("tune", "space-int-step-zero")
def _(w): error(_tune_space(w, lora_r={"int": [4, 16, 0]}), "c.yaml", "search: lora_r: step", ">= 1")

@case("tune", "space-int-step-fraction")
def _(w): error(_tune_space(w, lora_r={"int": [4, 16, 2.5]}), "c.yaml", "search: lora_r: step", "whole number")

@case("tune", "space-int-step-wider-than-range")
def _(w): error(_tune_space(w, lora_r={"int": [4, 8, 10]}), "c.yaml", "search: lora_r: step", "<= 4")

@case("tune", "space-int-bound-fraction")
def _(w): error(_tune_space(w, lora_r={"int": [4.5, 16]}), "c.yaml", "search: lora_r: low", "whole number")

@case("tune", "space-uniform-nan")
def _(w): error(_tune_space(w, lora_dropout={"uniform": [float("nan"), 0.1]}), "c.yaml", "lora_dropout: low", "finite")

@case("tune", "space-uniform-inf")
def _(w): error(_tune_space(w, lora_dropout={"uniform": [0, float("inf")]}), "c.yaml", "lora_dropout: high", "finite")

@case("tune", "space-bound-text")
def _(w): error(_tune_space(w, learning_rate={"loguniform": ["tiny", 1e-3]}), "c.yaml", "learning_rate: low", "str")

@case("tune", "space-alpha-ratio-zero")
def _(w): error(_tune_space(w, lora_alpha_ratio={"choice": [0, 2]}), "c.yaml", "lora_alpha_ratio", "> 0")

@case("tune", "space-key-null")
def _(w):
    error(w.cli("tune", w.config("model_name: tiny-llama\nsearch: {null: {choice: [1]}}\n")), "c.yaml", "search: None",
          "config field")

@case("tune", "space-a-list")
def _(w): error(w.cli("tune", _tune_cfg(w, search=[1, 2])), "c.yaml", "search", "mapping")

@case("tune", "space-choice-empty")
def _(w): error(_tune_space(w, lora_r={"choice": []}), "c.yaml", "search: lora_r", "non-empty list")

@case("tune", "space-unknown-field")
def _(w): error(_tune_space(w, lora_rank={"choice": [4]}), "c.yaml", "lora_rank", "did you mean 'lora_r'")

@case("tune", "space-fixed-field")
def _(w): error(_tune_space(w, dataset={"choice": ["demo", "extract"]}), "c.yaml", "search: dataset", "cannot vary")

@case("tune", "space-step-on-uniform")
def _(w): error(_tune_space(w, lora_dropout={"uniform": [0, 0.1, 0.05]}), "c.yaml", "lora_dropout", "only int")

@case("tune", "space-value-not-valid-for-field")
def _(w): error(_tune_space(w, lora_r={"choice": [0, 8]}), "c.yaml", "search: lora_r", "field 'lora_r'")

@case("tune", "space-file-missing")
def _(w): error(w.cli("tune", _tune_cfg(w), "--space", w.d/"nope.yaml"), "nope.yaml", "not found")

@case("tune", "space-file-a-directory")
def _(w): error(w.cli("tune", _tune_cfg(w), "--space", w.d), str(w.d), "directory")

@case("tune", "space-file-bad-yaml")
def _(w):
    s = w.write("space.yaml", "lora_r: {int: [4, 8\n")
    error(w.cli("tune", _tune_cfg(w), "--space", s), "space.yaml", "yaml")

@case("tune", "space-file-step-zero")
def _(w):
    s = w.write("space.yaml", "search:\n  lora_r: {int: [4, 8, 0]}\n")
    error(w.cli("tune", _tune_cfg(w), "--space", s), "space.yaml", "search: lora_r: step", ">= 1")

@case("tune", "cli-trials-zero")
def _(w): error(w.cli("tune", _tune_cfg(w), "--trials", "0"), "trials", ">= 1")

@case("tune", "cli-trials-text")
def _(w): error(w.cli("tune", _tune_cfg(w), "--trials", "many"), "--trials", "many")

@case("tune", "cli-timeout-nan")
def _(w): error(w.cli("tune", _tune_cfg(w), "--timeout", "nan"), "timeout", "not a finite number")

@case("tune", "cli-timeout-negative")
def _(w): error(w.cli("tune", _tune_cfg(w), "--timeout", "-5"), "timeout", "> 0")

@case("tune", "config-missing")
def _(w): error(w.cli("tune", w.d/"nope.yaml"), "nope.yaml", "not found")

@case("tune", "config-a-directory")
def _(w): error(w.cli("tune", w.d), str(w.d), "directory")

@case("tune", "config-not-utf8")
def _(w): error(w.cli("tune", w.write("c.yaml", b"model_name: tiny-llama\nsystem_prompt: \xff\xfe\n")), "c.yaml", "utf-8")

@case("tune", "config-field-out-of-range")
def _(w): error(w.cli("tune", _tune_cfg(w, lora_r=0)), "c.yaml", "lora_r", ">= 1")

@case("tune", "config-a-list")
def _(w): error(w.cli("tune", w.config("- model_name: tiny-llama\n")), "c.yaml", "mapping")

@case("tune", "storage-a-directory")
def _(w): error(w.cli("tune", _tune_cfg(w), "--storage", w.d), "storage", str(w.d), "directory")

@case("tune", "storage-a-data-file")
def _(w):
    cfg = _tune_cfg(w)
    before = (w.d/"d.jsonl").read_bytes()
    error(w.cli("tune", cfg, "--storage", w.d/"d.jsonl"), "storage", "d.jsonl", "not an optuna journal")
    assert (w.d/"d.jsonl").read_bytes() == before, "the data file named as storage was changed"

@case("tune", "storage-a-binary-file")
def _(w):
    f = w.write("s.db", b"SQLite format 3\x00" + bytes(200))
    error(w.cli("tune", _tune_cfg(w), "--storage", f), "storage", "s.db", "not an optuna journal")

@case("tune", "storage-under-a-file")
def _(w): error(w.cli("tune", _tune_cfg(w), "--storage", w.d/"c.yaml"/"s.journal"), "storage", "c.yaml", "is a file")

@case("tune", "storage-empty-text")
def _(w): error(w.cli("tune", _tune_cfg(w), "--storage", ""), "storage", "non-empty")

@case("tune", "out-a-file")
def _(w):
    f = w.write("o.txt", "x")
    error(w.cli("tune", _tune_cfg(w), "--out", f), "o.txt", "is a file")

@case("tune", "out-holds-a-training-run")
def _(w, good_adapter):
    shutil.copytree(good_adapter, w.d/"run")
    error(w.cli("tune", _tune_cfg(w), "--out", w.d/"run"), str(w.d/"run"), "training run", "another --out")

@case("tune", "out-results-of-an-unknown-study")
def _(w):
    w.write("t/best_config.yaml", "model_name: tiny-llama\n")
    error(w.cli("tune", _tune_cfg(w), "--out", w.d/"t", "--storage", w.d/"s.journal"), str(w.d/"t"), "best_config.yaml")

@case("tune", "out-owned-by-another-journal")
def _(w, tuned):
    d, cfg, out = tuned
    before = (out/"best_config.yaml").read_text()
    r = w.cli("tune", cfg, "--out", out, "--storage", w.d/"second.journal", "--trials", "1")
    error(r, str(out), "belongs to study", str(out/"study.journal"), "--storage")
    assert (out/"best_config.yaml").read_text() == before, "the first study's best_config.yaml was rewritten"
    assert not (w.d/"second.journal").exists(), "the refused study created its journal"

@case("tune", "out-being-run-by-a-live-process")
def _(w, tuned):
    import subprocess, sys, ft_nb.tuning as ft
    d, cfg, out = tuned
    shutil.copytree(out, w.d/"t")
    rec = json.loads((w.d/"t"/ft.OWNER_FILE).read_text())
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (w.d/"t"/ft.OWNER_FILE).write_text(json.dumps(dict(rec, storage=str(w.d/"t"/"study.journal"), pid=live.pid)))
        error(w.cli("tune", cfg, "--out", w.d/"t", "--trials", "1"), str(w.d/"t"), f"being run there by process {live.pid}")
    finally: live.kill(); live.wait()

@case("tune", "journal-locked-by-a-live-process")
def _(w):
    import subprocess, sys, ft_nb.tuning as ft
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    os.symlink(f"ft_nb-tune pid={live.pid} host={ft._HOST}", w.d/"s.journal.lock")
    wait, ft.LOCK_WAIT_S = ft.LOCK_WAIT_S, 0.3
    try: error(w.cli("tune", _tune_cfg(w), "--storage", w.d/"s.journal"), "s.journal", f"locked by process {live.pid}", "wait")
    finally: ft.LOCK_WAIT_S = wait; live.kill(); live.wait()

@case("tune", "journal-torn-last-line-repaired-and-resumed")
def _(w, tuned):
    import ft_nb.tuning as ft
    d, cfg, out = tuned
    shutil.copytree(out, w.d/"t")
    (w.d/"t"/ft.OWNER_FILE).unlink()                 # as an older ft_nb left it: the journal beside the results
    j = w.d/"t"/"study.journal"
    whole = j.read_bytes()
    j.write_bytes(whole + b'{"op_code":5,"worker_id":"x","trial_id":0,"par')      # a kill during an append
    r = w.cli("tune", cfg, "--out", w.d/"t", "--trials", "2", "--pruner", "none")
    no_crash(r)
    assert r.rc == 0, r.err[-1500:]
    assert "torn line" in r.err and "study.journal.torn" in r.err, r.err[-800:]
    assert Path(f"{j}.torn").read_bytes() == b'{"op_code":5,"worker_id":"x","trial_id":0,"par\n'
    rows = list(csv.DictReader(io.StringIO((w.d/"t"/"trials.csv").read_text())))
    assert [x["state"] for x in rows] == ["COMPLETE", "COMPLETE"], rows
    assert rows[0]["learning_rate"] != rows[1]["learning_rate"], f"the resumed study drew trial 0 again: {rows}"

@case("tune", "journal-stale-lock-under-a-relative-out")
def _(w, tuned):
    import ft_nb.tuning as ft
    d, cfg, out = tuned
    shutil.copytree(out, w.d/"t")
    (w.d/"t"/ft.OWNER_FILE).unlink()
    os.symlink("t/study.journal", w.d/"t"/"study.journal.lock")     # Optuna's lock from a killed run: points nowhere
    os.utime(w.d/"t"/"study.journal.lock", (time.time() - 3600,) * 2, follow_symlinks=False)
    r = w.cli("tune", cfg, "--out", "t", "--trials", "1")                 # relative to the case's folder
    no_crash(r)
    assert r.rc == 0 and "took over its lock" in r.err, (r.rc, r.err[-800:])
    assert not os.path.lexists(w.d/"t"/"study.journal.lock")

@case("tune", "every-trial-fails")
def _(w):
    r = w.cli("tune", _tune_cfg(w, max_seq_len=8), "--trials", "1", "--pruner", "none")
    error(r, "no trial finished", "1 FAIL", "notes")


# --- issue 25: ft-nb prefer, pairs, ab (cases below this line) ---

def _pairs(n:int=4)->list[dict]:
    "Preference pairs of the demo task: the reference label chosen, another label rejected."
    rows = demo_rows(n)
    return [dict(prompt=r["input"], chosen=r["output"], rejected="refund" if r["output"] != "refund" else "billing")
            for r in rows]

def _pref_cfg(w, pref=None, data=None, name="p.jsonl", **kw)->Path:
    "A tiny `ft-nb prefer` config over `data` (text, or pairs written as JSONL), with a `preference:` block."
    w.write(name, data if isinstance(data, str) else jl(data if data is not None else _pairs()))
    d = dict(model_name="tiny-llama", dataset=str(w.d/name), output_dir=str(w.d/"out"), val_fraction=0.0,
             max_seq_len=256, max_steps=1, per_device_batch_size=2, eval_on_start=False, device="cpu", precision="fp32")
    d.update(kw)
    if pref is not None: d["preference"] = pref
    return w.config(yaml.safe_dump(d, sort_keys=False, allow_unicode=True))

def _preview(w, *a, **kw): return w.cli("prefer", _pref_cfg(w, *a, **kw), "--preview", "1")

def _line1(w, value:str, kind:str):
    error(_preview(w, data=value + "\n" + jl(_pairs(2))), "p.jsonl line 1", "expected an object", f"got {kind}")

@case("prefer", "pairs-line1-a-number")
def _(w): _line1(w, "5", "a number (5)")

@case("prefer", "pairs-line1-null")
def _(w): _line1(w, "null", "null")

@case("prefer", "pairs-line1-a-string-not-listed-as-fields")
def _(w):
    r = _preview(w, data='"prompt"\n' + jl(_pairs(2)))
    error(r, "p.jsonl line 1", "got a string ('prompt')"); assert "fields [" not in r.err, r.err

@case("prefer", "pairs-line1-an-array-not-listed-as-fields")
def _(w):
    r = _preview(w, data='["prompt", "chosen"]\n' + jl(_pairs(2)))
    error(r, "p.jsonl line 1", "got an array of 2"); assert "fields [" not in r.err, r.err

@case("prefer", "pairs-later-line-null")
def _(w): error(_preview(w, data=jl(_pairs(2)) + "null\n"), "p.jsonl line 3", "got null")

@case("prefer", "kto-record-without-label")
def _(w):
    rows = [dict(prompt="q", completion="a", label=True), dict(prompt="q2", completion="b")]
    error(_preview(w, dict(stage="kto"), rows), "p.jsonl line 2", "missing field 'label'")

@case("prefer", "kto-label-a-string")
def _(w):
    rows = [dict(prompt="q", completion="a", label="yes")]
    error(_preview(w, dict(stage="kto"), rows), "p.jsonl line 1", "field 'label'", "a string ('yes')")

@case("prefer", "pair-empty-prompt")
def _(w): error(_preview(w, data=jl(_pairs(1) + [dict(prompt="", chosen="a", rejected="b")])), "p.jsonl line 2", "field 'prompt'", "empty")

@case("prefer", "history-pair-blank-user-turn")
def _(w):
    rows = [dict(messages=[dict(role="user", content="  ")], chosen="a", rejected="b")]
    error(_preview(w, data=rows), "p.jsonl line 1", "field 'messages'", "empty")

@case("prefer", "pair-without-rejected")
def _(w): error(_preview(w, data=[dict(prompt="q", chosen="a")]), "p.jsonl line 1", "missing field 'rejected'")

@case("prefer", "pair-chosen-a-number")
def _(w): error(_preview(w, data=[dict(prompt="q", chosen=3, rejected="b")]), "p.jsonl line 1", "field 'chosen'")

@case("prefer", "preference-block-a-string")
def _(w): error(_preview(w, "dpo"), "c.yaml", "preference", "expected a block of settings")

@case("prefer", "preference-block-a-list")
def _(w): error(_preview(w, ["dpo"]), "c.yaml", "preference", "expected a block of settings")

def _not_finite(w, key, text, stage="dpo"):
    "`key: text` (YAML's .nan, .inf, -.inf) in the preference block: refused naming the file and the setting."
    c = _pref_cfg(w, {"stage": stage, key: 1.0})
    c.write_text(c.read_text().replace(f"  {key}: 1.0", f"  {key}: {text}"))
    error(w.cli("prefer", c, "--preview", "1"), "c.yaml", f"preference: {key}", "not a finite number")

@case("prefer", "beta-nan")
def _(w): _not_finite(w, "beta", ".nan")

@case("prefer", "beta-inf")
def _(w): _not_finite(w, "beta", ".inf")

@case("prefer", "kto-desirable-weight-nan")
def _(w): _not_finite(w, "desirable_weight", ".nan", stage="kto")

@case("prefer", "kto-undesirable-weight-minus-inf")
def _(w): _not_finite(w, "undesirable_weight", "-.inf", stage="kto")

@case("prefer", "simpo-gamma-nan")
def _(w): _not_finite(w, "simpo_gamma", ".nan", stage="simpo")

@case("prefer", "label-smoothing-nan")
def _(w): _not_finite(w, "label_smoothing", ".nan")

@case("prefer", "sft-weight-inf")
def _(w): _not_finite(w, "sft_weight", ".inf")

@case("prefer", "beta-nan-on-the-command-line")
def _(w):
    error(w.cli("prefer", _pref_cfg(w, {}), "--preview", "1", "--beta", "nan"), "preference: beta",
          any_of=("not a finite number", "must be float"))

@case("prefer", "simpo-gamma-negative")
def _(w): error(_preview(w, dict(stage="simpo", simpo_gamma=-1)), "c.yaml", "simpo_gamma", "out of range")

@case("prefer", "test-pairs-missing-found-before-training")
def _(w):
    r = w.cli("prefer", _pref_cfg(w, dict(test_pairs=str(w.d/"held.jsonl"))))
    error(r, "preference: test_pairs", "held.jsonl", "not found")
    assert not (w.d/"out").exists(), "a run started before its missing test_pairs file was found"

@case("prefer", "test-pairs-holds-kto-records")
def _(w):
    w.write("held.jsonl", jl([dict(prompt="q", completion="a", label=True)]))
    error(w.cli("prefer", _pref_cfg(w, dict(test_pairs=str(w.d/"held.jsonl")))), "test_pairs", "held.jsonl",
          "prompt/completion/label")

@case("prefer", "test-pairs-line1-a-number")
def _(w):
    w.write("held.jsonl", "7\n" + jl(_pairs(1)))
    error(w.cli("prefer", _pref_cfg(w, dict(test_pairs=str(w.d/"held.jsonl")))), "test_pairs", "held.jsonl line 1",
          "a number (7)")

def _run_dir(w, pref:dict|None):
    "An output_dir holding a (stopped) preference run's config, as `ft-nb prefer` writes it at the start."
    (w.d/"out").mkdir(exist_ok=True)
    d = yaml.safe_load(_pref_cfg(w, {}).read_text())
    d.pop("preference"); d["output_dir"] = str(w.d/"out")
    if pref is not None: d["preference"] = dict(stage="dpo", beta=0.1, init_adapter=None, **pref)
    (w.d/"out"/"ft_nb_config.yaml").write_text(yaml.safe_dump(d))

@case("prefer", "resume-changes-beta")
def _(w):
    _run_dir(w, {})
    error(w.cli("prefer", _pref_cfg(w, dict(beta=0.2)), "--resume", "true"), "preference.beta: 0.1 -> 0.2",
          "ft_nb_config.yaml")

@case("prefer", "resume-changes-stage")
def _(w):
    _run_dir(w, {})
    error(w.cli("prefer", _pref_cfg(w, dict(stage="orpo")), "--resume", "true"), "preference.stage: 'dpo' -> 'orpo'")

@case("prefer", "resume-adds-init-adapter")
def _(w, good_adapter):
    _run_dir(w, {})
    error(w.cli("prefer", _pref_cfg(w, dict(init_adapter=str(good_adapter))), "--resume", "true"),
          "preference.init_adapter: None ->")

@case("prefer", "resume-of-a-run-without-preference-settings")
def _(w):
    _run_dir(w, None)
    error(w.cli("prefer", _pref_cfg(w, {}), "--resume", "true"), "ft_nb_config.yaml", "records no preference settings")

@case("prefer", "nan-loss-names-the-setting")
def _(w):
    r = w.cli("prefer", _pref_cfg(w, dict(sft_weight=1e38)))
    error(r, "preference.sft_weight", "step 1"); assert "Lower learning_rate" not in r.err, r.err

@case("prefer", "init-adapter-rank-recorded")
def _(w, good_adapter):
    r = w.cli("prefer", _pref_cfg(w, dict(init_adapter=str(good_adapter)), lora_r=8, lora_alpha=16))
    no_crash(r); assert r.rc == 0, r.err[-600:]
    assert "lora_r 8 (the adapter's: 4)" in r.err, r.err[-600:]
    conf = json.loads((w.d/"out"/"ft_nb_manifest.json").read_text())["config"]
    assert (conf["lora_r"], conf["lora_alpha"]) == (4, 8), conf

# --- ft-nb grpo (every case refused by --preview, before any model loads)

def _grpo(w, grpo=None, data=None, preview=True, **kw):
    "`ft-nb grpo --preview 1` on a tiny config over `data` (demo records as JSONL), with a `grpo:` block."
    w.write("g.jsonl", jl(data if data is not None else demo_rows(4)))
    d = dict(model_name="tiny-llama", dataset=str(w.d/"g.jsonl"), output_dir=str(w.d/"out"), val_fraction=0.0,
             max_seq_len=256, max_steps=1, per_device_batch_size=4, labels=["billing", "refund"])
    d.update(kw)
    d["grpo"] = dict(rewards=["exact_match"], max_completion_length=8) if grpo is None else grpo
    cfg = w.config(yaml.safe_dump(d, sort_keys=False, allow_unicode=True))
    return w.cli("grpo", cfg, "--preview", "1") if preview else w.cli("grpo", cfg)

@case("grpo", "grpo-block-a-string")
def _(w): error(_grpo(w, "dapo"), "c.yaml", "grpo", "expected a block of settings")

@case("grpo", "reward-name-unknown")
def _(w): error(_grpo(w, dict(rewards=["exact_mtch"])), "grpo: rewards[0]", "unknown reward 'exact_mtch'",
                "did you mean 'exact_match'")

@case("grpo", "reward-module-not-importable")
def _(w): error(_grpo(w, dict(rewards=["no_such_module:score"])), "rewards[0]", "cannot import module 'no_such_module'")

@case("grpo", "reward-weights-not-matching")
def _(w): error(_grpo(w, dict(rewards=["exact_match"], reward_weights=[1, 2])), "grpo: reward_weights",
                "2 weight(s) for 1 reward(s)")

@case("grpo", "one-generation-per-prompt")
def _(w): error(_grpo(w, dict(rewards=["exact_match"], num_generations=1)), "grpo: num_generations must be >= 2")

@case("grpo", "vllm-memory-share-out-of-range")
def _(w): error(_grpo(w, dict(rewards=["exact_match"], vllm_gpu_memory_utilization=1.5)),
                "grpo: vllm_gpu_memory_utilization: 1.5 is out of range")

@case("grpo", "vllm-on-the-cpu")
def _(w): error(_grpo(w, dict(rewards=["exact_match"], max_completion_length=8, use_vllm=True), preview=False),
                "grpo: use_vllm needs a CUDA GPU", "Set use_vllm: false")

@case("grpo", "group-not-dividing-the-batch")
def _(w): error(_grpo(w, dict(rewards=["exact_match"], num_generations=3)), "num_generations 3 must divide",
                "per_device_batch_size 4", "a divisor of 4")

@case("grpo", "prompt-longer-than-its-budget")
def _(w):
    rows = demo_rows(2) + [dict(instruction="Classify: " + "word " * 300, output="billing")]
    error(_grpo(w, dict(rewards=["exact_match"], max_completion_length=64), rows),
          "g.jsonl line 3", "the prompt is", "max_seq_len 256 - grpo.max_completion_length 64 = 192")

@case("grpo", "reference-reward-without-references")
def _(w):
    rows = demo_rows(2) + [dict(instruction="Classify this ticket: my card was charged twice")]
    error(_grpo(w, data=rows), "'exact_match' compares each completion with the reference", "g.jsonl line 3")

# --- ft-nb reward (every case refused before a model loads: by --preview, the config checks or the resume check)

def _reward(w, reward=None, data=None, *extra, preview:bool=True, **kw):
    "`ft-nb reward` (`--preview 1` unless `preview` is False) on a tiny config over `data`, with a `reward:` block."
    cfg = _pref_cfg(w, data=data, **kw)
    if reward is not None:
        d = yaml.safe_load(cfg.read_text()); d["reward"] = reward
        cfg.write_text(yaml.safe_dump(d, sort_keys=False, allow_unicode=True))
    return w.cli("reward", cfg, *(("--preview", "1") if preview else ()), *extra)

def _no_run(w): assert not (w.d/"out").exists(), "a run directory was made before the input was refused"

@case("reward", "pairs-line-not-json")
def _(w):
    error(_reward(w, data=jl(_pairs(2)) + '{"prompt": "q", "chosen\n'), "p.jsonl line 3", "not valid JSON",
          "one JSON object per line")

@case("reward", "pair-without-rejected")
def _(w): error(_reward(w, data=[dict(prompt="q", chosen="a")]), "p.jsonl line 1", "missing field 'rejected'")

@case("reward", "pair-without-chosen")
def _(w):
    error(_reward(w, data=_pairs(1) + [dict(prompt="q", rejected="a")]), "p.jsonl line 2", "missing field 'chosen'")

@case("reward", "chosen-same-as-rejected-names-the-reward-block")
def _(w):
    r = _reward(w, data=_pairs(1) + [dict(prompt="q", chosen="a ", rejected="a")])
    error(r, "p.jsonl line 2", "'chosen' and 'rejected' are the same answer", "set reward.identical: drop")
    assert "preference.identical" not in r.err, r.err

@case("reward", "every-pair-identical-and-dropped")
def _(w):
    error(_reward(w, dict(identical="drop"), [dict(prompt="q", chosen="a", rejected="a")] * 2), "p.jsonl",
          "all 2 preference records were dropped", "'identical': 2")

@case("reward", "kto-records")
def _(w):
    error(_reward(w, data=[dict(prompt="q", completion="a", label=True)]), "p.jsonl",
          "prompt/completion/label records are for stage: kto, not reward")

@case("reward", "pair-format-kto")
def _(w): error(_reward(w, dict(pair_format="kto")), "c.yaml", "reward: pair_format", "a reward model learns from pairs")

@case("reward", "reward-block-unknown-key")
def _(w): error(_reward(w, dict(confidense=0.9)), "c.yaml", "reward: unknown key 'confidense'", "did you mean 'confidence'")

@case("reward", "reward-block-init-adapter-not-a-setting")
def _(w):
    error(_reward(w, dict(init_adapter="runs/sft")), "c.yaml", "reward: unknown key 'init_adapter'",
          "valid keys are: pair_format")

@case("reward", "reward-block-a-string")
def _(w): error(_reward(w, "pairs"), "c.yaml", "reward", "expected a block of settings")

@case("reward", "confidence-out-of-range")
def _(w): error(_reward(w, dict(confidence=1.0)), "c.yaml", "reward: confidence: 1.0 is out of range", "< 1")

@case("reward", "unknown-option-near-a-reward-setting")
def _(w):
    error(_reward(w, None, None, "--confidense", "0.9"), "unknown option '--confidense'",
          "did you mean 'confidence' (a setting of the reward: block)")

@case("reward", "method-prefix-tuning")
def _(w):
    error(_reward(w, preview=False, method="prefix"), "method 'prefix'", "LoRA-family", "lora, qlora, dora")
    _no_run(w)

@case("reward", "method-prompt-tuning")
def _(w): error(_reward(w, preview=False, method="prompt_tuning"), "method 'prompt_tuning'", "LoRA-family")

@case("reward", "test-pairs-missing-found-before-training")
def _(w):
    error(_reward(w, dict(test_pairs=str(w.d/"held.jsonl")), preview=False), "reward: test_pairs", "held.jsonl",
          "not found")
    _no_run(w)

@case("reward", "test-pairs-holds-kto-records")
def _(w):
    w.write("held.jsonl", jl([dict(prompt="q", completion="a", label=True)]))
    error(_reward(w, dict(test_pairs=str(w.d/"held.jsonl")), preview=False), "reward: test_pairs", "held.jsonl",
          "holds prompt/completion/label records")

@case("reward", "test-pairs-line1-a-number")
def _(w):
    w.write("held.jsonl", "7\n" + jl(_pairs(1)))
    error(_reward(w, dict(test_pairs=str(w.d/"held.jsonl")), preview=False), "reward: test_pairs",
          "held.jsonl line 1", "a number (7)")

@case("reward", "fewer-pairs-than-a-step")
def _(w):
    error(_reward(w, data=_pairs(1), preview=False), "p.jsonl", "the training set has 1 example(s)",
          "per_device_batch_size 2", "add data or lower those settings")

def _reward_run_dir(w, reward:dict|None):
    "An output_dir holding a (stopped) reward run's config, as `ft-nb reward` writes it at the start."
    (w.d/"out").mkdir(exist_ok=True)
    d = yaml.safe_load(_pref_cfg(w).read_text())
    if reward is not None:
        d["reward"] = dict(pair_format="auto", identical="error", test_pairs=None, center_rewards_coefficient=0.0,
                           confidence=0.95, **reward)
    (w.d/"out"/"ft_nb_config.yaml").write_text(yaml.safe_dump(d))

@case("reward", "resume-changes-the-objective")
def _(w):
    _reward_run_dir(w, {})
    error(_reward(w, dict(center_rewards_coefficient=0.01), None, "--resume", "true", preview=False),
          "reward.center_rewards_coefficient: 0.0 -> 0.01", "ft_nb_config.yaml", "start a new run")

@case("reward", "resume-of-a-run-without-reward-settings")
def _(w):
    _reward_run_dir(w, None)
    error(_reward(w, None, None, "--resume", "true", preview=False), "ft_nb_config.yaml", "records no reward settings")

# --- ft-nb rating-pairs (on a copy of the example session that ships with the notebooks: 12 items, one rater)

def _session(w)->tuple[Path, Path, list[str]]:
    "(ratings, items, the rating file's lines) of a copy of nbs/human_eval_example."
    shutil.copytree(ROOT/"nbs"/"human_eval_example", w.d/"s")
    r = w.d/"s"/"ratings_dev.jsonl"
    return r, w.d/"s"/"items.jsonl", r.read_text(encoding="utf-8").splitlines(keepends=True)

def _ratings(w, lines:list, change=None, name="s/bad.jsonl")->Path:
    "The rating file with its first rating (line 2) changed by `change(dict)`."
    if change is None: return w.write(name, "".join(lines))
    r = json.loads(lines[1]); change(r)
    return w.write(name, lines[0] + json.dumps(r) + "\n" + "".join(lines[2:]))

def _rp(w, *argv): return w.cli("rating-pairs", *argv)

@case("rating-pairs", "valid-session-counts-every-item")
def _(w):
    r, _, _ = _session(w)
    res = _rp(w, r, "--out", w.d/"o.jsonl")
    no_crash(res); assert res.rc == 0, res.err[-600:]
    assert "9 pairs from 12 ratings" in res.out and "no pair: tie 3" in res.out, res.out

@case("rating-pairs", "ratings-file-missing")
def _(w): _session(w); error(_rp(w, w.d/"s"/"nope.jsonl", "--out", w.d/"o.jsonl"), "rating file", "nope.jsonl", "does not exist")

@case("rating-pairs", "items-file-missing")
def _(w):
    r, _, _ = _session(w)
    error(_rp(w, r, "--items", w.d/"no_items.jsonl", "--out", w.d/"o.jsonl"), "items file", "no_items.jsonl", "does not exist")

@case("rating-pairs", "no-items-file-beside-the-ratings")
def _(w):
    r, _, _ = _session(w); (w.d/"lone").mkdir(); shutil.copy(r, w.d/"lone"/"r.jsonl")
    error(_rp(w, w.d/"lone"/"r.jsonl", "--out", w.d/"o.jsonl"), "items file", "lone/items.jsonl", "does not exist")

@case("rating-pairs", "ratings-line-cut-off")
def _(w):
    _, i, lines = _session(w)
    bad = w.write("s/bad.jsonl", "".join(lines[:3]) + '{"item": "test-1", "rater\n' + "".join(lines[3:]))
    error(_rp(w, bad, "--items", i, "--out", w.d/"o.jsonl"), "bad.jsonl: line 4 is not JSON", "delete that line")

@case("rating-pairs", "preference-not-a-system")
def _(w):
    _, i, lines = _session(w)
    bad = _ratings(w, lines, lambda r: r.update(preference="both"))
    error(_rp(w, bad, "--items", i, "--out", w.d/"o.jsonl"), "bad.jsonl: line 2", "preference 'both'", "'tie'")

@case("rating-pairs", "rating-without-rater")
def _(w):
    _, i, lines = _session(w)
    bad = _ratings(w, lines, lambda r: r.pop("rater"))
    error(_rp(w, bad, "--items", i, "--out", w.d/"o.jsonl"), "bad.jsonl: line 2", "lacks ['rater']")

@case("rating-pairs", "rating-of-an-item-not-in-the-items-file")
def _(w):
    _, i, lines = _session(w)
    bad = _ratings(w, lines, lambda r: r.update(item="test-999"))
    error(_rp(w, bad, "--items", i, "--out", w.d/"o.jsonl"), "bad.jsonl", "1 rating(s) of items that",
          "item 'test-999'", "correct the item ids or delete those lines")
    assert not (w.d/"o.jsonl").exists()

@case("rating-pairs", "ratings-without-session-header")
def _(w):
    _, i, lines = _session(w)
    error(_rp(w, w.write("s/bad.jsonl", "".join(lines[1:])), "--items", i, "--out", w.d/"o.jsonl"),
          "bad.jsonl: line 1 is not an ft_nb rating-session header")

@case("rating-pairs", "ratings-file-empty")
def _(w):
    _, i, _ = _session(w)
    error(_rp(w, w.write("s/bad.jsonl", ""), "--items", i, "--out", w.d/"o.jsonl"), "bad.jsonl is empty", "no session header")

@case("rating-pairs", "items-of-another-session")
def _(w):
    r, i, _ = _session(w)
    other = w.write("s/other.jsonl", i.read_text(encoding="utf-8").replace("payment", "Payment"))
    error(_rp(w, r, "--items", other, "--out", w.d/"o.jsonl"), "other.jsonl holds other items than those rated",
          "--items")

@case("rating-pairs", "ratings-of-two-sessions")
def _(w):
    r, i, lines = _session(w)
    h = json.loads(lines[0]); h["systems"] = ["base", "dpo"]
    error(_rp(w, r, w.write("s/r2.jsonl", json.dumps(h) + "\n"), "--items", i, "--out", w.d/"o.jsonl"),
          "r2.jsonl comes from a different session", "systems differ")

@case("rating-pairs", "every-item-a-tie")
def _(w):
    _, i, lines = _session(w)
    ties = _ratings(w, [lines[0]] + [json.dumps(dict(json.loads(l), preference="tie")) + "\n" for l in lines[1:]])
    error(_rp(w, ties, "--items", i, "--out", w.d/"o.jsonl"), "bad.jsonl: no pairs: of 12 items", "'tie': 12")

@case("rating-pairs", "disagree-unknown")
def _(w):
    r, _, _ = _session(w)
    error(_rp(w, r, "--out", w.d/"o.jsonl", "--disagree", "vote"), "disagree must be one of", "'majority'", "'vote'")

@case("rating-pairs", "out-is-the-ratings-file")
def _(w):
    r, _, _ = _session(w); before = r.read_bytes()
    error(_rp(w, r, "--out", r), "--out", "ratings_dev.jsonl", "is one of the files being read")
    assert r.read_bytes() == before, "the ratings were overwritten"

@case("rating-pairs", "out-is-the-items-file-relative")
def _(w):
    _, i, _ = _session(w); before = i.read_bytes()
    error(_rp(w, "s/ratings_dev.jsonl", "--out", "s/../s/items.jsonl"), "--out s/../s/items.jsonl",
          "is one of the files being read")
    assert i.read_bytes() == before, "the items were overwritten"

@case("rating-pairs", "out-is-a-directory")
def _(w):
    r, _, _ = _session(w); (w.d/"dir").mkdir()
    error(_rp(w, r, "--out", w.d/"dir"), "--out", "dir", "is a directory", "give a file")

@case("rating-pairs", "out-under-a-file")
def _(w):
    r, _, _ = _session(w); w.write("f.txt", "x")
    error(_rp(w, r, "--out", w.d/"f.txt"/"o.jsonl"), "cannot write", "f.txt/o.jsonl", "writable directory")

# --- ft-nb pairs

def _eval_rows(n:int=3)->list[dict]:
    return [dict(prompt=f"<|im_start|>user\n{r['input']}<|im_end|>\n<|im_start|>assistant\n", reference=r["output"],
                 base="hmm", sft="refund" if r["output"] != "refund" else "billing") for r in demo_rows(n)]

@case("pairs", "out-is-the-predictions-file")
def _(w):
    p = w.write("pred.jsonl", jl(_eval_rows())); before = p.read_bytes()
    error(w.cli("pairs", p, "--out", p), "--out", "pred.jsonl", "is the predictions file being read")
    assert p.read_bytes() == before, "the predictions were overwritten"

@case("pairs", "out-is-the-predictions-file-via-a-link")
def _(w):
    p = w.write("eval/eval_predictions.jsonl", jl(_eval_rows())); before = p.read_bytes()
    os.symlink(p, w.d/"link.jsonl")
    error(w.cli("pairs", w.d/"eval", "--out", w.d/"link.jsonl"), "link.jsonl", "is the predictions file being read")
    assert p.read_bytes() == before, "the predictions were overwritten"

@case("pairs", "out-is-the-predictions-file-relative")
def _(w):
    p = w.write("eval/eval_predictions.jsonl", jl(_eval_rows())); before = p.read_bytes()
    error(w.cli("pairs", "eval", "--out", "eval/../eval/eval_predictions.jsonl"), "is the predictions file being read")
    assert p.read_bytes() == before, "the predictions were overwritten"

@case("pairs", "out-is-a-directory")
def _(w):
    p = w.write("pred.jsonl", jl(_eval_rows())); (w.d/"dir").mkdir()
    error(w.cli("pairs", p, "--out", w.d/"dir"), "--out", "dir", "is a directory")

@case("pairs", "predictions-line1-an-array")
def _(w): error(w.cli("pairs", w.write("pred.jsonl", '["prompt"]\n'), "--out", w.d/"o.jsonl"), "pred.jsonl line 1", "an array of 1")

@case("pairs", "predictions-later-line-null")
def _(w):
    error(w.cli("pairs", w.write("pred.jsonl", jl(_eval_rows(2)) + "null\n"), "--out", w.d/"o.jsonl"), "pred.jsonl line 3", "null")

@case("pairs", "predictions-prompt-a-number")
def _(w):
    rows = _eval_rows(2); rows[1]["prompt"] = 5
    error(w.cli("pairs", w.write("pred.jsonl", jl(rows)), "--out", w.d/"o.jsonl"), "pred.jsonl line 2", "field 'prompt'")

@case("pairs", "predictions-answer-a-list")
def _(w):
    rows = _eval_rows(2); rows[1]["sft"] = ["billing"]
    error(w.cli("pairs", w.write("pred.jsonl", jl(rows)), "--out", w.d/"o.jsonl"), "pred.jsonl line 2", "field 'sft'")

@case("pairs", "predictions-reference-an-object")
def _(w):
    rows = _eval_rows(2); rows[0]["reference"] = dict(label="billing")
    error(w.cli("pairs", w.write("pred.jsonl", jl(rows)), "--out", w.d/"o.jsonl"), "pred.jsonl line 1", "field 'reference'")

@case("pairs", "unknown-model-column")
def _(w):
    error(w.cli("pairs", w.write("pred.jsonl", jl(_eval_rows())), "--out", w.d/"o.jsonl", "--model", "dpo"),
          "pred.jsonl", "'dpo'", "--model")

# --- ft-nb ab

def _ab_files(w, change=None)->tuple[Path, Path]:
    a = w.write("a/eval_predictions.jsonl", jl(_eval_rows()))
    rows = [dict(r, dpo=r["reference"]) for r in _eval_rows()]
    for r in rows: r.pop("sft")
    if change: change(rows)
    return a, w.write("b/eval_predictions.jsonl", jl(rows))

@case("ab", "limit-negative")
def _(w):
    a, b = _ab_files(w); error(w.cli("ab", a, b, "--limit", "-1", "--out", w.d/"s"), "--limit", "-1")

@case("ab", "limit-zero")
def _(w):
    a, b = _ab_files(w); error(w.cli("ab", a, b, "--limit", "0", "--out", w.d/"s"), "--limit", ">= 1")

@case("ab", "out-an-existing-file")
def _(w):
    a, b = _ab_files(w); f = w.write("taken.txt", "mine")
    error(w.cli("ab", a, b, "--out", f), "--out", "taken.txt", "existing file")
    assert f.read_text() == "mine"

@case("ab", "out-is-an-input")
def _(w):
    a, b = _ab_files(w); before = a.read_bytes()
    error(w.cli("ab", a, b, "--out", a), "--out", "would write over the input")
    assert a.read_bytes() == before

@case("ab", "names-one-name")
def _(w):
    a, b = _ab_files(w); error(w.cli("ab", a, b, "--names", "sft", "--out", w.d/"s"), "--names", "two different")

@case("ab", "names-the-same-twice")
def _(w):
    a, b = _ab_files(w); error(w.cli("ab", a, b, "--names", "x,x", "--out", w.d/"s"), "--names 'x,x'")

@case("ab", "same-column-names-the-cli-option")
def _(w):
    a = w.write("a/eval_predictions.jsonl", jl(_eval_rows()))
    r = w.cli("ab", a, a, "--out", w.d/"s")
    error(r, "--names"); assert "pass names=" not in r.err, r.err

@case("ab", "prompts-differ-by-one-space")
def _(w):
    def extra_space(rows): rows[1]["prompt"] = rows[1]["prompt"].replace("user\n", "user\n ", 1)
    a, b = _ab_files(w, extra_space)
    error(w.cli("ab", a, b, "--out", w.d/"s"), "a/eval_predictions.jsonl line 2", "b/eval_predictions.jsonl line 2",
          "prompts differ at character 18")

@case("ab", "references-differ")
def _(w):
    def other_ref(rows): rows[2]["reference"] = "feedback"
    a, b = _ab_files(w, other_ref)
    error(w.cli("ab", a, b, "--out", w.d/"s"), "line 3", "references differ")

@case("ab", "predictions-later-line-null")
def _(w):
    a, b = _ab_files(w); b.write_text(b.read_text() + "null\n")
    error(w.cli("ab", a, b, "--out", w.d/"s"), "b/eval_predictions.jsonl line 4", "got null")

@case("ab", "unknown-model-b")
def _(w):
    a, b = _ab_files(w); error(w.cli("ab", a, b, "--model-b", "nope", "--out", w.d/"s"), "'nope'", "--model-b")

@case("ab", "predictions-missing")
def _(w):
    a, _ = _ab_files(w); error(w.cli("ab", a, w.d/"nowhere", "--out", w.d/"s"), "nowhere", "does not exist")

# --- issue 25: merge, merge-adapters, export, tasks (cases below this line) ---

@pytest.fixture(scope="module")
def parents25(good_adapter, tmp_path_factory):
    "tiny-llama adapters: layer 0 only, layer 1 only, lm_head in modules_to_save, regex target_modules; fp: good + fingerprint."
    import torch
    from peft import LoraConfig, get_peft_model
    from ft_nb.models import make_tiny_model, base_fingerprint
    from ft_nb.runs import write_manifest, read_run
    d, out = tmp_path_factory.mktemp("parents25"), {}
    for name, kw in (("l0", dict(layers_to_transform=[0])), ("l1", dict(layers_to_transform=[1])),
                     ("mts", dict(modules_to_save=["lm_head"])), ("rx", dict(target_modules=r".*\.(q_proj|v_proj)"))):
        torch.manual_seed(len(out))
        conf = LoraConfig(**{"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"], "init_lora_weights": False,
                             "task_type": "CAUSAL_LM", **kw})
        get_peft_model(make_tiny_model("llama")[0], conf).save_pretrained(d/name); out[name] = d/name
    out["fp"] = d/"fp"; shutil.copytree(good_adapter, out["fp"])
    write_manifest(out["fp"], dict(read_run(out["fp"]).manifest, base_fingerprint=base_fingerprint(make_tiny_model("llama")[0])))
    return out

@pytest.fixture(scope="module")
def merged25(good_adapter, tmp_path_factory):
    "good_adapter merged into tiny-llama and exported as F16 GGUF (model-f16.gguf, unverified): inputs for `export`."
    from ft_nb.deploy import merge_into_base, export_gguf
    d = tmp_path_factory.mktemp("merged25")/"m"
    merge_into_base(good_adapter, d, device="cpu", model_card=False)
    export_gguf(d, qtype="f16", verify=False)
    return d

def _madd(w, *dirs, out=None, extra=()):
    "`ft-nb merge-adapters DIRS --out OUT` (default WORK/merged); a refusal must leave no output."
    out = out or w.d/"merged"
    existed = Path(out).exists()
    r = w.cli("merge-adapters", *dirs, "--out", out, *extra)
    if r.rc and not existed: assert not Path(out).exists(), "a refused merge left an output directory"
    return r

def _layers(d)->list:
    "The decoder layers an adapter directory's weights touch."
    import re
    from safetensors import safe_open
    with safe_open(str(Path(d)/"adapter_model.safetensors"), "pt") as f:
        return sorted({int(m.group(1)) for k in f.keys() if (m := re.search(r"\.layers\.(\d+)\.", k))})

def _digest(d)->dict:
    import hashlib
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(d).iterdir()) if p.is_file()}

def _copy(src, dst)->Path: shutil.copytree(src, dst); return Path(dst)

# merge-adapters: the output is never an input

@case("merge", "out-is-a-parent")
def _(w, merge_parents):
    a = _copy(merge_parents["a"], w.d/"a"); before = _digest(a)
    error(_madd(w, a, merge_parents["b"], out=a, extra=("--method", "cat", "--overwrite")), "--out", str(a), "which the merge reads")
    assert _digest(a) == before, "merge-adapters --out PARENT --overwrite changed the parent"

@case("merge", "out-holds-the-parents")
def _(w, merge_parents):
    a, b = _copy(merge_parents["a"], w.d/"runs"/"a"), _copy(merge_parents["b"], w.d/"runs"/"b")
    error(_madd(w, a, b, out=w.d/"runs", extra=("--method", "cat", "--overwrite")), "--out", "which the merge reads")
    assert a.is_dir() and b.is_dir() and _digest(a) == _digest(merge_parents["a"]), "the parents under --out were replaced"

@case("merge", "out-is-a-parent-spelt-with-dotdot")
def _(w, merge_parents):
    a = _copy(merge_parents["a"], w.d/"a")
    error(_madd(w, a, merge_parents["b"], out=w.d/"a"/".."/"a", extra=("--overwrite",)), "--out", "which the merge reads")

@case("merge", "out-is-a-link-to-a-parent")
def _(w, merge_parents):
    a = _copy(merge_parents["a"], w.d/"a"); os.symlink(a, w.d/"link")
    error(_madd(w, a, merge_parents["b"], out=w.d/"link", extra=("--overwrite",)), "--out", "which the merge reads")
    assert _digest(a) == _digest(merge_parents["a"])

@case("merge", "out-is-the-base-model-directory")
def _(w, good_adapter):
    from ft_nb.models import tiny_model_dir
    from ft_nb.runs import write_manifest, read_run
    base = _copy(tiny_model_dir("llama"), w.d/"base"); a = _copy(good_adapter, w.d/"a")
    write_manifest(a, dict(read_run(a).manifest, base_model=str(base)))
    error(_madd(w, a, a, out=base, extra=("--method", "cat", "--overwrite")), "--out", str(base), "which the merge reads")
    assert (base/"config.json").is_file(), "the base model directory was replaced"

@case("merge", "out-under-a-file")
def _(w, merge_parents):
    f = w.write("taken", "a file")
    error(_madd(w, merge_parents["a"], merge_parents["b"], out=f/"m"), "--out", "taken", "is a file")

@case("merge", "out-exists-without-overwrite")
def _(w, merge_parents):
    (w.d/"merged").mkdir(); (w.d/"merged"/"keep.txt").write_text("mine")
    error(_madd(w, merge_parents["a"], merge_parents["b"]), "--out", "already exists", "--overwrite")
    assert (w.d/"merged"/"keep.txt").read_text() == "mine"

# merge-adapters: every parent's update is kept, or the merge is refused naming what would be lost

@case("merge", "layers-differ-cat-keeps-both")
def _(w, parents25):
    r = _madd(w, parents25["l0"], parents25["l1"], extra=("--method", "cat"))
    no_crash(r); assert r.rc == 0, r.err[-600:]
    assert _layers(w.d/"merged") == [0, 1], f"the merge kept layers {_layers(w.d/'merged')} of the parents' [0] and [1]"

@case("merge", "layers-differ-ties-keeps-both")
def _(w, parents25):
    r = _madd(w, parents25["l0"], parents25["l1"], extra=("--method", "ties", "--density", "0.5"))
    no_crash(r); assert r.rc == 0, r.err[-600:]
    assert _layers(w.d/"merged") == [0, 1], f"the merge kept layers {_layers(w.d/'merged')}"

@case("merge", "one-layer-parent-first-keeps-all")
def _(w, parents25, merge_parents):
    r = _madd(w, parents25["l1"], merge_parents["a"], extra=("--method", "cat"))
    no_crash(r); assert r.rc == 0, r.err[-600:]
    assert _layers(w.d/"merged") == [0, 1], f"the second parent's layer 0 was dropped: {_layers(w.d/'merged')}"

@case("merge", "regex-and-list-target-modules")
def _(w, parents25, merge_parents):
    r = _madd(w, parents25["rx"], merge_parents["a"], extra=("--method", "cat"))
    no_crash(r); assert r.rc == 0, r.err[-600:]
    assert _layers(w.d/"merged") == [0, 1]

@case("merge", "modules-to-save-second-parent")
def _(w, parents25, merge_parents):
    error(_madd(w, merge_parents["a"], parents25["mts"], extra=("--method", "cat")), "mts", "modules_to_save", "lm_head", "drop")

@case("merge", "modules-to-save-first-parent")
def _(w, parents25, merge_parents):
    error(_madd(w, parents25["mts"], merge_parents["a"], extra=("--method", "cat")), "mts", "modules_to_save")

@case("merge", "modules-to-save-single-rescaled")
def _(w, parents25):
    error(_madd(w, parents25["mts"], extra=("--method", "linear", "--weights", "0.5")), "mts", "modules_to_save")

# merge-adapters: numbers that make no sense

@case("merge", "weights-all-zero")
def _(w, merge_parents): error(_madd(w, merge_parents["a"], merge_parents["b"], extra=("--weights", "0,0")), "weights", "all zero")

@case("merge", "weights-single-zero")
def _(w, merge_parents):
    error(_madd(w, merge_parents["a"], extra=("--method", "svd", "--weights", "0")), "weights", "all zero")

@case("merge", "weights-1e30")
def _(w, merge_parents):
    error(_madd(w, merge_parents["a"], merge_parents["b"], extra=("--method", "cat", "--weights", "1e30,1")),
          "weights: weight 1", "out of range")

@case("merge", "weights-inf")
def _(w, merge_parents):
    error(_madd(w, merge_parents["a"], merge_parents["b"], extra=("--weights", "1,inf")), "weight 2", "not a finite number")

@case("merge", "weights-nan")
def _(w, merge_parents):
    error(_madd(w, merge_parents["a"], merge_parents["b"], extra=("--weights", "nan,1")), "weight 1", "nan")

@case("merge", "weights-missing-value")
def _(w, merge_parents):
    error(_madd(w, merge_parents["a"], merge_parents["b"], extra=("--weights", "1,")), "weights", "not a list of numbers")

@case("merge", "seed-2-to-the-64")
def _(w, merge_parents):
    error(_madd(w, merge_parents["a"], merge_parents["b"], extra=("--method", "dare_ties", "--seed", str(2**64))),
          "seed", "out of range", str(2**64 - 1))

@case("merge", "seed-negative")
def _(w, merge_parents):
    error(_madd(w, merge_parents["a"], merge_parents["b"], extra=("--method", "dare_ties", "--seed", "-1")), "seed", ">= 0")

@case("merge", "seed-largest-accepted")
def _(w, merge_parents):
    r = _madd(w, merge_parents["a"], merge_parents["b"], extra=("--method", "dare_ties", "--seed", str(2**64 - 1)))
    no_crash(r); assert r.rc == 0, r.err[-600:]

@case("merge", "density-nan")
def _(w, merge_parents): error(_madd(w, merge_parents["a"], merge_parents["b"], extra=("--density", "nan")), "density", "(0, 1]")

@case("merge", "density-inf")
def _(w, merge_parents):
    error(_madd(w, merge_parents["a"], merge_parents["b"], extra=("--method", "dare_linear", "--density", "inf")),
          "density", "not a finite number")

@case("merge", "density-keeps-nothing")
def _(w, merge_parents):
    error(_madd(w, merge_parents["a"], merge_parents["b"], extra=("--method", "ties", "--density", "1e-30")),
          "density", "keeps none")

# ft-nb merge: a tolerance that cannot fail, the wrong base, an output that is an input

@case("cli", "merge-tol-nan")
def _(w, good_adapter):
    error(w.cli("merge", good_adapter, "--out", w.d/"m", "--tol", "nan", "--device", "cpu"), "--tol", "not a finite number")
    assert not (w.d/"m").exists()

@case("cli", "merge-tol-inf")
def _(w, good_adapter): error(w.cli("merge", good_adapter, "--out", w.d/"m", "--tol", "inf", "--device", "cpu"), "--tol", "inf")

@case("cli", "merge-tol-zero")
def _(w, good_adapter): error(w.cli("merge", good_adapter, "--out", w.d/"m", "--tol", "0", "--device", "cpu"), "--tol", "> 0")

@case("cli", "merge-tol-negative")
def _(w, good_adapter): error(w.cli("merge", good_adapter, "--out", w.d/"m", "--tol", "-1", "--device", "cpu"), "--tol", "> 0")

@case("cli", "merge-tol-above-the-logits")
def _(w, good_adapter):
    error(w.cli("merge", good_adapter, "--out", w.d/"m", "--tol", "1e6", "--device", "cpu"), "--tol", "logits' own scale")
    assert not (w.d/"m").exists(), "a refused merge left its output"

@case("cli", "merge-base-of-another-architecture")
def _(w, good_adapter):
    error(w.cli("merge", good_adapter, "--base", "tiny-qwen2", "--out", w.d/"m", "--device", "cpu"),
          "tiny-qwen2", "tiny-llama", "--allow-base-mismatch")

@case("cli", "merge-base-mismatch-allowed-but-other-architecture")
def _(w, parents25):
    error(w.cli("merge", parents25["fp"], "--base", "tiny-qwen2", "--allow-base-mismatch", "--out", w.d/"m", "--device", "cpu"),
          "does not fit base model 'tiny-qwen2'", "model type")
    assert not (w.d/"m").exists()

@case("cli", "merge-base-local-copy-allowed")
def _(w, parents25):
    from ft_nb.models import tiny_model_dir
    base = _copy(tiny_model_dir("llama"), w.d/"copy")
    error(w.cli("merge", parents25["fp"], "--base", base, "--out", w.d/"m", "--device", "cpu"), "--allow-base-mismatch")
    r = w.cli("merge", parents25["fp"], "--base", base, "--allow-base-mismatch", "--out", w.d/"m", "--device", "cpu")
    no_crash(r); assert r.rc == 0 and (w.d/"m"/"model.safetensors").is_file(), r.err[-600:]

@case("cli", "merge-out-is-the-base-directory")
def _(w, parents25):
    from ft_nb.models import tiny_model_dir
    base = _copy(tiny_model_dir("llama"), w.d/"copy"); before = _digest(base)
    error(w.cli("merge", parents25["fp"], "--base", base, "--allow-base-mismatch", "--out", base, "--overwrite", "--device", "cpu"),
          "--out", "base model's directory")
    assert _digest(base) == before, "merge --out BASE --overwrite changed the base model"

@case("cli", "merge-out-holds-the-adapter")
def _(w, good_adapter):
    a = _copy(good_adapter, w.d/"runs"/"a")
    error(w.cli("merge", a, "--out", w.d/"runs", "--overwrite", "--device", "cpu"), "--out", "adapter directory or holds it")
    assert _digest(a) == _digest(good_adapter)

@case("cli", "merge-prefix-run")
def _(w, merge_parents):
    error(w.cli("merge", merge_parents["prefix"], "--out", w.d/"m", "--device", "cpu"), "prefix", "virtual tokens", "serve")

# ft-nb export: say what is possible; an output that is a folder, under a file, or the input

@case("cli", "export-prefix-adapter")
def _(w, merge_parents):
    r = w.cli("export", merge_parents["prefix"])
    error(r, "prefix", "virtual tokens", "cannot become plain weights", "ft-nb serve")
    assert "merge it first" not in r.err, "export tells a prefix run to merge, which merge refuses"

@case("cli", "export-lora-adapter")
def _(w, good_adapter): error(w.cli("export", good_adapter), str(good_adapter), "merge it first", "ft-nb merge")

@case("cli", "export-out-under-a-file")
def _(w, merged25):
    f = w.write("taken", "a file")
    error(w.cli("export", merged25, "--out", f/"x.gguf", "--no-verify"), "--out", "taken", "is a file")

@case("cli", "export-out-is-a-directory")
def _(w, merged25):
    (w.d/"d.gguf").mkdir()
    error(w.cli("export", merged25, "--out", w.d/"d.gguf", "--no-verify"), "--out", "d.gguf", "is a directory")

@case("cli", "export-gguf-onto-itself")
def _(w, merged25):
    g = merged25/"model-f16.gguf"; size = g.stat().st_size
    error(w.cli("export", g, "--out", g, "--no-verify"), "--out", "model-f16.gguf", "model being exported")
    assert g.stat().st_size == size

@case("cli", "export-out-not-gguf")
def _(w, merged25): error(w.cli("export", merged25, "--out", w.d/"x.bin", "--no-verify"), "out", ".gguf", "x.bin")

# the tasks: block: every key holds what a task reads

def _task(w, **kw): return w.cli("train", _tasks_cfg(w, [dict(name="a", dataset="demo", **kw)]))

@case("config", "tasks-metrics-a-string")
def _(w): error(_task(w, metrics="accuracy"), "tasks", "task 'a'", "metrics", "write a list")

@case("config", "tasks-metrics-numbers")
def _(w): error(_task(w, metrics=[1]), "task 'a'", "metrics", "list of non-empty strings")

@case("config", "tasks-labels-a-string")
def _(w): error(_task(w, labels="billing, shipping"), "task 'a'", "labels", "write a list")

@case("config", "tasks-labels-numbers")
def _(w): error(_task(w, labels=[1, 2]), "task 'a'", "labels", "quote numbers")

@case("config", "tasks-field-map-a-string")
def _(w): error(_task(w, field_map="question"), "task 'a'", "field_map")

@case("config", "tasks-system-prompt-a-number")
def _(w): error(_task(w, system_prompt=3), "task 'a'", "system_prompt", "text")

@case("config", "tasks-test-dataset-empty")
def _(w): error(_task(w, test_dataset=" "), "task 'a'", "test_dataset")

@case("config", "tasks-val-dataset-a-list")
def _(w): error(_task(w, val_dataset=["v.jsonl"]), "task 'a'", "val_dataset")

@case("config", "tasks-weight-nan")
def _(w): error(_task(w, weight=float("nan")), "task 'a'", "weight", "not a finite number")

@case("config", "tasks-weight-1e30")
def _(w): error(_task(w, weight=1e30), "task 'a'", "weight", "out of range")

@case("config", "tasks-weight-true")
def _(w): error(_task(w, weight=True), "task 'a'", "weight", "bool")

@case("config", "tasks-weight-a-string")
def _(w): error(_task(w, weight="2"), "task 'a'", "weight", "str")

@case("config", "tasks-data-format-a-list")
def _(w): error(_task(w, data_format=["alpaca"]), "task 'a'", "data_format", "not one of")

# --- issue 25: serve (cases below this line) ---

def _msg(r)->str: return r.json()["error"]["message"]

def _greedy(server, **kw):
    "The answer to `chat(server, **kw)` and to the same request at temperature 0 (both must be 200)."
    a = post(server, chat(server, **kw) | dict(max_tokens=4))
    b = post(server, chat(server, temperature=0) | dict(max_tokens=4))
    assert a.status_code == 200 and b.status_code == 200, (a.status_code, a.text[:300])
    return a.json()["choices"][0]["message"]["content"], b.json()["choices"][0]["message"]["content"]

@case("http", "temperature-1e-50-zero-in-float32-is-greedy")
def _(w, server):
    a, b = _greedy(server, temperature=1e-50); assert a == b, (a, b)

@case("http", "temperature-least-float-is-greedy")
def _(w, server):
    a, b = _greedy(server, temperature=5e-324); assert a == b, (a, b)

@case("http", "temperature-just-below-1e-5-is-greedy")
def _(w, server):
    a, b = _greedy(server, temperature=9.9e-6); assert a == b, (a, b)

@case("http", "temperature-1e-50-completions")
def _(w, server):
    r = post(server, dict(model=server[1], prompt="hi", max_tokens=2, temperature=1e-50), "/v1/completions")
    assert r.status_code == 200, r.text[:300]

@case("http", "temperature-1e-50-streaming-no-error-event")
def _(w, server):
    r = post(server, chat(server, temperature=1e-50, stream=True))
    assert r.status_code == 200 and "data: [DONE]" in r.text and '"error"' not in r.text, r.text[-400:]

@case("http", "max_tokens-number-in-quotes")
def _(w, server):
    r = post(server, chat(server) | dict(max_tokens="8")); refused(r, param="max_tokens")
    assert "expected an integer" in _msg(r) and "without quotes" in _msg(r), _msg(r)
    assert "valid integer" not in _msg(r), f"pydantic's wording: {_msg(r)}"

@case("http", "temperature-number-in-quotes")
def _(w, server):
    r = post(server, chat(server, temperature="0.7")); refused(r, param="temperature")
    assert "expected a number, got the string '0.7'" in _msg(r) and "more problem" not in _msg(r), _msg(r)

@case("http", "top_p-number-in-quotes")
def _(w, server):
    r = post(server, chat(server, temperature=0.5, top_p="0.9")); refused(r, param="top_p")
    assert "expected a number" in _msg(r), _msg(r)

@case("http", "seed-number-in-quotes")
def _(w, server):
    r = post(server, chat(server, seed="42")); refused(r, param="seed")
    assert "the string '42'" in _msg(r), _msg(r)

@case("http", "n-number-in-quotes")
def _(w, server): refused(post(server, chat(server, n="1")), param="n")

@case("http", "max_completion_tokens-number-in-quotes")
def _(w, server):
    r = post(server, dict(model=server[1], messages=msgs(), max_completion_tokens="4"))
    refused(r, param="max_completion_tokens"); assert "expected an integer" in _msg(r), _msg(r)

@case("http", "stream-boolean-in-quotes")
def _(w, server):
    r = post(server, chat(server, stream="true")); refused(r, param="stream")
    assert "true or false" in _msg(r) and "the string 'true'" in _msg(r), _msg(r)

@case("http", "include_usage-boolean-in-quotes")
def _(w, server):
    r = post(server, chat(server, stream=True, stream_options=dict(include_usage="false")))
    refused(r, param="stream_options.include_usage"); assert "true or false" in _msg(r), _msg(r)

@case("http", "completions-max_tokens-number-in-quotes")
def _(w, server):
    r = post(server, dict(model=server[1], prompt="hi", max_tokens="2"), "/v1/completions")
    refused(r, param="max_tokens"); assert "without quotes" in _msg(r), _msg(r)

@case("http", "completions-echo-boolean-in-quotes")
def _(w, server):
    r = post(server, dict(model=server[1], prompt="hi", max_tokens=2, echo="true"), "/v1/completions")
    refused(r, param="echo"); assert "true or false" in _msg(r), _msg(r)

@case("http", "message-without-content-named")
def _(w, server):
    r = post(server, dict(chat(server), messages=[dict(role="user")])); refused(r, param="messages.0.content")
    assert r.json()["error"]["code"] == "missing_required_parameter" and "required" in _msg(r), r.json()

@case("http", "role-unknown-lists-the-roles")
def _(w, server):
    r = post(server, dict(chat(server), messages=[dict(role="bot", content="hi")])); refused(r, param="messages.0.role")
    assert "'user'" in _msg(r) and "the string 'bot'" in _msg(r), _msg(r)

@case("http", "model-null")
def _(w, server):
    r = post(server, dict(chat(server), model=None)); refused(r, param="model")
    assert "expected a string, got null" in _msg(r), _msg(r)

@case("http", "user-a-number")
def _(w, server): refused(post(server, chat(server, user=12345)), param="user")

@case("http", "top_p-nan")
def _(w, server):
    r = post(server, json.dumps(chat(server, temperature=0.5, top_p=float("nan"))).encode(), raw=True)
    refused(r, param="top_p"); assert "not a finite number" in _msg(r), _msg(r)

@case("http", "temperature-infinity")
def _(w, server):
    refused(post(server, json.dumps(chat(server, temperature=float("inf"))).encode(), raw=True), param="temperature")

@case("http", "presence_penalty-nan")
def _(w, server):
    r = post(server, json.dumps(chat(server, presence_penalty=float("nan"))).encode(), raw=True)
    refused(r, param="presence_penalty")

@case("http", "max_tokens-negative-says-the-bound")
def _(w, server):
    r = post(server, chat(server) | dict(max_tokens=-3)); refused(r, param="max_tokens")
    assert "expected a value >= 1, got -3" in _msg(r), _msg(r)

@case("http", "seed-huge-float")
def _(w, server): refused(post(server, chat(server, seed=1e308)), param="seed")

@case("http", "logprobs-negative")
def _(w, server): refused(post(server, chat(server, logprobs=-1)), param="logprobs")

@case("http", "top_logprobs-negative")
def _(w, server): refused(post(server, chat(server, top_logprobs=-1)), param="top_logprobs")

@case("http", "stop-list-holding-null")
def _(w, server): refused(post(server, chat(server, stop=[None])), param="stop.0")

@case("http", "content-part-text-a-number")
def _(w, server):
    r = post(server, dict(chat(server), messages=[dict(role="user", content=[dict(type="text", text=5)])]))
    refused(r, param="messages.0.content.0.text")

@case("http", "completions-prompt-list-holding-a-number")
def _(w, server):
    refused(post(server, dict(model=server[1], prompt=["a", 7], max_tokens=2), "/v1/completions"), param="prompt.1")

@case("http", "two-bad-fields-counted")
def _(w, server):
    r = post(server, chat(server, temperature="hot", seed="x")); refused(r)
    assert "(and 1 more problem)" in _msg(r), _msg(r)

# guided_choice (vLLM's name): the answer is one of the labels, scored; bad lists are refused naming the field
LABELS = ["card", "card_arrival", "refund"]

@case("http", "valid-guided-choice-answers-a-label-with-probabilities")
def _(w, server):
    r = post(server, chat(server, guided_choice=LABELS)); assert r.status_code == 200, r.text[:300]
    ch = r.json()["choices"][0]
    assert ch["message"]["content"] in LABELS and set(ch["label_probs"]) == set(LABELS), ch
    assert abs(sum(ch["label_probs"].values()) - 1) < 1e-4 and ch["finish_reason"] == "stop", ch

@case("http", "valid-guided-choice-completions-and-stream")
def _(w, server):
    r = post(server, dict(model=server[1], prompt="Label:", guided_choice=LABELS), "/v1/completions")
    assert r.status_code == 200 and r.json()["choices"][0]["text"] in LABELS, r.text[:300]
    r = post(server, chat(server, guided_choice=LABELS, stream=True))
    assert r.status_code == 200 and "label_probs" in r.text and "data: [DONE]" in r.text, r.text[-400:]

@case("http", "guided-choice-a-string")
def _(w, server): refused(post(server, chat(server, guided_choice="card")), param="guided_choice")

@case("http", "guided-choice-holding-a-number")
def _(w, server): refused(post(server, chat(server, guided_choice=["card", 5])), param="guided_choice.1")

@case("http", "guided-choice-empty")
def _(w, server): refused(post(server, chat(server, guided_choice=[])), param="guided_choice")

@case("http", "guided-choice-blank-label")
def _(w, server): refused(post(server, chat(server, guided_choice=["card", "  "])), param="guided_choice")

@case("http", "guided-choice-label-twice")
def _(w, server):
    r = post(server, chat(server, guided_choice=["card", "refund", "card"])); refused(r, param="guided_choice")
    assert "repeats" in _msg(r), _msg(r)

@case("http", "guided-choice-too-many")
def _(w, server):
    refused(post(server, chat(server, guided_choice=[f"l{i}" for i in range(5000)])), param="guided_choice", within=2)

@case("http", "guided-choice-label-too-long")
def _(w, server): refused(post(server, chat(server, guided_choice=["card", "x" * 50_000])), param="guided_choice")

@case("http", "guided-choice-with-n-2")
def _(w, server): refused(post(server, chat(server, guided_choice=LABELS, n=2)), param="n")

@case("http", "guided-choice-with-temperature")
def _(w, server):
    r = post(server, chat(server, guided_choice=LABELS, temperature=0.8)); refused(r, param="temperature")
    assert "likeliest label" in _msg(r), _msg(r)

@case("http", "guided-choice-with-stop")
def _(w, server): refused(post(server, chat(server, guided_choice=LABELS, stop=["\n"])), param="stop")

@case("serve", "label-scoring-without-a-run-with-labels")
def _(w): error(_serve(w, "--label-scoring"), "--label-scoring", "labels")

class _RefusingEngine:
    "An engine that refuses every generation with an FTError (as compiled decoding refuses a prefix adapter)."
    def __init__(self, e): self._e = e
    def __getattr__(self, k): return getattr(self._e, k)
    def _no(self, *a, **kw):
        from ft_nb.methods import MethodError
        raise MethodError("compile=True decodes with a static KV cache, which prefix_tuning cannot use")
    generate = stream = _no

@pytest.fixture(scope="module")
def refusing_app(server):
    "The app over an engine that refuses with an FTError, driven in-process (starlette's TestClient, no socket)."
    from starlette.testclient import TestClient
    from ft_nb.serve import ModelServer, build_app
    with TestClient(build_app(ModelServer(_RefusingEngine(server[2]), max_tokens_limit=64)),
                    raise_server_exceptions=False) as tc: yield tc, server[1]

@case("http", "engine-ftError-is-422-with-its-message")
def _(w, refusing_app):
    tc, name = refusing_app; t0 = time.time()
    r = tc.post("/v1/chat/completions", json=dict(model=name, messages=msgs(), max_tokens=2))
    r.elapsed_s = time.time() - t0
    refused(r, 422); assert "static KV cache" in _msg(r) and "internal error" not in _msg(r), _msg(r)

@case("http", "engine-ftError-streaming-event-carries-its-message")
def _(w, refusing_app):
    tc, name = refusing_app
    r = tc.post("/v1/chat/completions", json=dict(model=name, messages=msgs(), max_tokens=2, stream=True))
    assert r.status_code == 200 and "static KV cache" in r.text and "unprocessable_request" in r.text, r.text[-400:]

@case("http", "engine-ftError-completions-422")
def _(w, refusing_app):
    tc, name = refusing_app; t0 = time.time()
    r = tc.post("/v1/completions", json=dict(model=name, prompt="hi", max_tokens=2)); r.elapsed_s = time.time() - t0
    refused(r, 422)

def _serve(w, *argv): return w.cli("serve", "--base", "tiny-llama", "--port", "0", *argv)

@case("serve", "max-tokens-limit-0")
def _(w): error(_serve(w, "--max-tokens-limit", "0"), "--max-tokens-limit", ">= 1", "single token")

@case("serve", "max-tokens-limit-negative")
def _(w): error(_serve(w, "--max-tokens-limit", "-64"), "--max-tokens-limit: -64")

@case("serve", "max-tokens-limit-not-a-whole-number")
def _(w): error(_serve(w, "--max-tokens-limit", "2.5"), "--max-tokens-limit", "2.5")

@case("serve", "max-queue-0")
def _(w): error(_serve(w, "--max-queue", "0"), "--max-queue", ">= 1", "503")

@case("serve", "max-queue-negative")
def _(w): error(_serve(w, "--max-queue", "-1"), "--max-queue: -1")

@case("serve", "max-body-bytes-below-a-request")
def _(w): error(_serve(w, "--max-body-bytes", "10"), "--max-body-bytes", ">= 256", "too large")

@case("serve", "port-out-of-range")
def _(w): error(_serve(w, "--port", "70000"), "--port", "65535")

@case("serve", "compile-with-prefix-adapter")
def _(w, merge_parents):
    error(_serve(w, "--adapter", f"pfx={merge_parents['prefix']}", "--compile", "--device", "cpu"),
          "--compile", "pfx", "static kv cache")

@case("serve", "compile-names-only-the-virtual-token-adapter")
def _(w, good_adapter, merge_parents):
    r = _serve(w, "--adapter", f"bot={good_adapter}", "--adapter", f"pfx={merge_parents['prefix']}", "--compile")
    error(r, "--compile cannot serve pfx"); assert "bot (" not in r.err, r.err

@case("serve", "modelserver-limit-0-from-python")
def _(w, server):
    from ft_nb.serve import ModelServer
    from ft_nb.core import FTError
    with pytest.raises(FTError, match="--max-queue: 0 is out of range"): ModelServer(server[2], max_queue=0)
    with pytest.raises(FTError, match="default_max_tokens: 0"): ModelServer(server[2], default_max_tokens=0)

# ---------------------------------------------------------------------------------------------------------------------

def test_catalogue_size():
    kinds = {}
    for p in CASES: kinds[p.id.split(":")[0]] = kinds.get(p.id.split(":")[0], 0) + 1
    assert len(CASES) >= 80 and {"data", "config", "cli", "http"} <= set(kinds), kinds

@pytest.mark.parametrize("fn", CASES)
def test_bad_input(fn, request, w):
    import inspect
    extra = [request.getfixturevalue(n) for n in list(inspect.signature(fn).parameters)[1:]]
    fn(w, *extra)
