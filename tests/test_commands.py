"""Every shell command shown in README.md and the notebooks must work as shown, and the docs sidebar must list every
notebook.

Commands are collected from README.md and from the notebooks' markdown (fenced bash/sh/console blocks, inline code
spans that start with a known program) and `!` lines of code cells. Each is checked without doing the work:

- `ft-nb ...` (also `.venv/bin/ft-nb`, `$(which ft-nb)`, `python -m ft_nb.cli`): `ft-nb VERB --help` runs in-process;
  every `--option` shown is an option of VERB or, for commands that take config overrides, a config field; a line
  that is not a usage template (no `[...]`, no `...`) must parse as a whole, values included. `ft-nb info`,
  `ft-nb methods` and `ft-nb --help` run for real.
- `bash scripts/X.sh`: the script exists and `bash -n` parses it.
- `python bench/X.py ...` / `python scripts/X.py ...`: `--help` runs and lists every option shown.
- `torchrun` / `accelerate launch`: the launcher is installed, config files named exist, and the command it launches
  is checked as above. `nbdev-*`: installed. `modal run/deploy X.py --opt`: X.py exists and has a parameter for each
  option shown (Modal itself needs an account and the network, so it is not run). `pip install` and `vllm` are not
  run (network, other projects).
"""
import contextlib, functools, io, json, re, shlex, shutil, subprocess, sys
from pathlib import Path
import pytest, yaml

ROOT = Path(__file__).resolve().parent.parent
PROG = re.compile(r"(?:\.venv/bin/)?ft-nb(?![\w-])|\$\(which ft-nb\)|bash (?:scripts|bench)/|python3? (?:bench|scripts)/|"
                  r"python3? -m ft_nb\.cli\b|torchrun\b|accelerate launch\b|nbdev-[a-z_]+|pip install\b|vllm serve\b|"
                  r"modal (?:run|deploy|setup|volume|secret)\b")
SHELL_FENCES = ("bash", "sh", "shell", "console", "")

def _docs():
    "(where, kind, text) for README.md and every notebook cell: kind is 'md' or 'code'."
    yield "README.md", "md", (ROOT/"README.md").read_text(encoding="utf-8")
    for nb in sorted((ROOT/"nbs").glob("*.ipynb")):
        for i, c in enumerate(json.loads(nb.read_text(encoding="utf-8"))["cells"]):
            src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            yield f"{nb.name} cell {i}", "md" if c["cell_type"] == "markdown" else "code", src

def _split_line(line):
    "The commands of one shell line: comments dropped, `&&` / `;` / `|` separated."
    try: toks = shlex.split(line, comments=True)
    except ValueError: return [line]
    out, cur = [], []
    for t in toks:
        if t in ("&&", "||", ";", "|"): out.append(cur); cur = []
        else: cur.append(t)
    return [shlex.join(o) for o in out + [cur] if o]

def shown_commands():
    "Every (where, command) shown to a reader."
    for where, kind, text in _docs():
        if kind == "code":
            for l in text.splitlines():
                if l.lstrip().startswith("!"): yield where, l.lstrip()[1:].strip()
            continue
        body = re.sub(r"```.*?```", "\n", text, flags=re.S)          # inline spans outside fenced blocks
        for m in re.finditer(r"```(\w*)[^\n]*\n(.*?)```", text, re.S):
            if m.group(1) not in SHELL_FENCES: continue
            for l in m.group(2).replace("\\\n", " ").splitlines():
                for cmd in _split_line(l):
                    if PROG.match(cmd): yield where, cmd
        for m in re.finditer(r"`([^`]+)`", body):
            span = " ".join(m.group(1).split())
            if PROG.match(span) and "\n\n" not in m.group(1): yield where, span

def _grouped():
    "One entry per distinct command, with the first place it is shown."
    first = {}
    for where, cmd in shown_commands(): first.setdefault(cmd, where)
    return sorted((w, c) for c, w in first.items())

COMMANDS = _grouped()

@functools.lru_cache(maxsize=None)
def _help(verb=None):
    "`ft-nb --help` / `ft-nb VERB --help` in-process, once per verb: (exit status, stderr)."
    rc, out, err = _run_main(["--help"] if verb is None else [verb, "--help"])
    return rc, err

def _run_main(argv):
    from ft_nb.cli import main
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e): rc = main(list(argv))
    return rc, o.getvalue(), e.getvalue()

def _is_template(toks): return any(("[" in t or "]" in t or "..." in t or t == "…") for t in toks)

def check_ft_nb(args):
    "Check one `ft-nb` command line (its arguments after the program name)."
    from ft_nb.cli import COMMANDS as CMDS, parse_command, load_command, command_parser
    from ft_nb.core import FTConfig, load_config, parse_overrides
    from dataclasses import fields
    toks = [t.replace("[", "").replace("]", "") for t in args]
    toks = [t[:-3] if t.endswith("...") else t for t in toks if t not in ("...", "…", "")]
    if not toks or toks[0] in ("--help", "-h"):
        rc, err = _help(); assert rc == 0, err; return
    if toks[0] == "--version": assert _run_main(["--version"])[0] == 0; return
    verb, rest = toks[0], toks[1:]
    verbs = list(CMDS) if verb in ("COMMAND", "VERB", "<command>") else [verb]
    for v in verbs:
        assert v in CMDS, f"`ft-nb {v}` is not a command (commands: {', '.join(CMDS)})"
        rc, err = _help(v)
        assert rc == 0, f"`ft-nb {v} --help` failed: {err}"
    if verb != verbs[0] or not rest or rest in (["--help"], ["-h"]): return   # a command named, not a command line
    p, takes = command_parser(verb, load_command(verb))
    known = {s for a in p._actions for s in a.option_strings}
    fields_ = {f.name for f in fields(FTConfig)}
    for t in rest:
        if not t.startswith("--") or t in ("--key", "--key=value"): continue
        name = t.split("=", 1)[0]
        if name in known: continue
        assert takes, f"`ft-nb {verb}` has no option {name}"
        k = name[2:].replace("-", "_")
        if k in fields_: continue
        try: load_config(None, parse_overrides([name, "1"]))   # an alias (--lr) passes, a typo names the closest field
        except Exception as e:
            if "unknown option" in str(e): raise AssertionError(f"`ft-nb {verb}`: {name} is not an option: {e}") from None
    if _is_template(args) or (len(rest) == 1 and rest[0].startswith("--")): return   # a usage line, an option named
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err): func, kw = parse_command(verb, rest)
    except SystemExit as e: raise AssertionError(f"`ft-nb {shlex.join([verb] + rest)}` does not parse: "
                                                 f"{err.getvalue().strip()}") from None
    ov = [o for o in kw.get("overrides") or [] if o not in ("--key", "value")]
    if ov:
        try: load_config(None, ov)
        except Exception as e: raise AssertionError(f"`ft-nb {verb}`: overrides {ov} rejected: {e}") from None

def check_script(toks):
    "`python bench/X.py ...`: --help runs and names every option shown."
    path = ROOT/toks[0]
    assert path.is_file(), f"{toks[0]} does not exist"
    r = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, f"{toks[0]} --help failed: {r.stderr[-2000:]}"
    for t in toks[1:]:
        if t.startswith("--"): assert t.split("=")[0] in r.stdout, f"{toks[0]} has no option {t}"

def check_command(cmd):
    toks = shlex.split(cmd.replace("$(which ft-nb)", "ft-nb"))
    if toks[0] in ("pip", "vllm"): return "not run"
    if toks[0] == "modal":
        for t in toks[2:]:
            if t.endswith((".py", ".yaml", ".yml")) and "/" in t: assert (ROOT/t).is_file(), f"{t} does not exist"
        scripts = [ROOT/t for t in toks[2:] if t.endswith(".py")]
        for t in toks[2:]:
            if t.startswith("--") and scripts:
                name = t[2:].split("=")[0].replace("-", "_")
                assert re.search(rf"\b{name}\b", scripts[0].read_text()), f"{scripts[0].name} has no option {t}"
        return "not run: needs a Modal account"
    if toks[0].endswith("ft-nb"): return check_ft_nb(toks[1:])
    if toks[:2] in (["python", "-m"], ["python3", "-m"]) and toks[2] == "ft_nb.cli": return check_ft_nb(toks[3:])
    if toks[0] == "bash":
        path = ROOT/toks[1]
        assert path.is_file(), f"{toks[1]} does not exist"
        r = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return
    if toks[0] in ("python", "python3"): return check_script(toks[1:])
    if toks[0] in ("torchrun", "accelerate"):
        exe = toks[0]
        assert shutil.which(exe) or (Path(sys.executable).parent/exe).exists(), f"{exe} is not installed"
        for i, t in enumerate(toks):
            if t.endswith((".yaml", ".yml", ".json")) and "/" in t: assert (ROOT/t).is_file(), f"{t} does not exist"
            if t == "ft-nb" or t.endswith("/ft-nb"): return check_ft_nb(toks[i+1:])
            if t == "-m" and i+1 < len(toks) and toks[i+1] == "ft_nb.cli": return check_ft_nb(toks[i+2:])
        return
    if toks[0].startswith("nbdev-"):
        assert shutil.which(toks[0]) or (Path(sys.executable).parent/toks[0]).exists(), f"{toks[0]} is not installed"
        return
    raise AssertionError(f"no check for {cmd!r}")

def test_commands_found():
    "The extraction sees the commands we know are there."
    cmds = {c for _, c in COMMANDS}
    assert any(c.startswith("ft-nb demo") for c in cmds) and any(c.startswith("bash scripts/") for c in cmds)
    assert len(COMMANDS) > 25, COMMANDS

@pytest.mark.parametrize("where,cmd", COMMANDS, ids=[f"{w}: {c[:60]}" for w, c in COMMANDS])
def test_shown_command(where, cmd):
    check_command(cmd)

def test_bad_commands_are_caught():
    "The checks fail on what the tutorial used to show, and on unknown options and values."
    for bad in ("ft-nb export merged/ --gguf", "ft-nb merge / export / serve", "ft-nb fly",
                "ft-nb infer --base x --prompt hi --max-new-tokens many", "python bench/inference_bench.py --nope",
                "bash scripts/nothing.sh"):
        with pytest.raises(AssertionError): check_command(bad)

@pytest.mark.parametrize("argv", [["info"], ["methods"], ["--help"]])
def test_cheap_commands_run(argv):
    rc, out, err = _run_main(argv)
    assert rc == 0 and out and not err.strip(), err

def test_sidebar_lists_every_notebook():
    "nbs/sidebar.yml lists exactly the notebooks in nbs/, index first."
    listed = yaml.safe_load((ROOT/"nbs/sidebar.yml").read_text())["website"]["sidebar"]["contents"]
    have = sorted(p.name for p in (ROOT/"nbs").glob("*.ipynb") if not p.name.startswith("_"))
    assert listed[0] == "index.ipynb"
    missing, stale = sorted(set(have) - set(listed)), sorted(set(listed) - set(have))
    assert not missing and not stale, f"sidebar.yml: missing {missing}, lists notebooks that do not exist {stale}"
    assert len(listed) == len(set(listed))

def test_readme_lists_every_notebook():
    "The README's table of notebooks names each notebook in nbs/ (index aside)."
    txt = (ROOT/"README.md").read_text(encoding="utf-8").split("## The notebooks", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(\d\d[a-z]?_\w+)`", txt))
    have = {p.stem for p in (ROOT/"nbs").glob("*.ipynb") if p.stem != "index" and not p.name.startswith("_")}
    assert named == have, f"README table: missing {sorted(have - named)}, names {sorted(named - have)} that do not exist"

def test_package_docs_list_every_module():
    "nbdev-export writes each module's opening paragraph into the package docstring and nbs/llms.txt: all of them."
    import ast
    pkg = ast.get_docstring(ast.parse((ROOT/"ft_nb/__init__.py").read_text(encoding="utf-8"))) or ""
    llms = (ROOT/"nbs/llms.txt").read_text(encoding="utf-8")
    mods = sorted(p.stem for p in (ROOT/"ft_nb").glob("*.py") if not p.name.startswith("_"))
    for where, txt in (("ft_nb/__init__.py docstring", pkg), ("nbs/llms.txt", llms)):
        missing = [m for m in mods if f"ft_nb.{m}" not in txt]
        assert not missing, f"{where} does not list {missing}: export the notebook's opening paragraph (#| export)"
