"""Shared set-up of ft_nb's pytest files: an offline, quiet environment, `scripts/` importable, and `run_cli`, which runs
`ft_nb.cli.main(argv)` in this process and captures what it prints (a raw traceback there is a test failure)."""
import contextlib, io, os, sys, traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for k, v in dict(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", TQDM_DISABLE="1", TRANSFORMERS_VERBOSITY="error").items():
    os.environ.setdefault(k, v)
if str(ROOT/"scripts") not in sys.path: sys.path.insert(0, str(ROOT/"scripts"))   # fault_suite (ft_nb is installed -e)

TRACEBACK = "Traceback (most recent call last)"

@dataclass
class CliResult:
    rc: int
    out: str
    err: str
    @property
    def text(self)->str: return self.out + self.err
    @property
    def message(self)->str:
        "The last non-empty line of stderr: where `ft-nb` puts its one-line error."
        return next((l for l in reversed(self.err.splitlines()) if l.strip()), "")

def run_cli(argv, cwd=None)->CliResult:
    "`ft-nb ARGV` in this process: exit status and captured stdout/stderr; an exception escaping `main` is recorded as a traceback."
    from ft_nb.cli import main
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        if cwd: os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try: rc = main([str(a) for a in argv])
            except SystemExit as e: rc = e.code if isinstance(e.code, int) else 1
            except BaseException: traceback.print_exc(); rc = 99
    finally: os.chdir(old)
    r = CliResult(rc if isinstance(rc, int) else 0, out.getvalue(), err.getvalue())
    if os.environ.get("FT_NB_SHOW_MESSAGES"): print(f"\n    ft-nb {' '.join(map(str, argv))[:120]}\n    -> {r.rc}: {r.message[:400]}")
    return r
