"""Build ft_nb's documentation site without Quarto (issue 16.3), into _docs/ (or --out).

Each notebook in nbs/ goes through nbdev's own docs processing - the processors `nbdev_proc_nbs` runs
(`nbdev.processors.FilterDefaults`: frontmatter, `show_doc` for every exported name, hidden cells and lines dropped,
exported-only views, links to documented names), one notebook per process as nbdev does - and is then rendered to HTML
with nbconvert, inside a page with the sidebar of nbs/sidebar.yml. Notebooks are not re-executed (as with nbdev's
Quarto setup, pages show the saved outputs). Quarto's few cell options are honoured (`echo`, `output`, `include`,
`output: asis`) and its `:::` fenced divs become HTML divs. Links to the site's own URL
(https://ft-nb.github.io/ft_nb/...) and to `NAME.ipynb` become relative links to the page, so the site works from disk.

Usage: python scripts/build_docs.py [--out DIR] [--workers N] [--screenshots DIR] [NOTEBOOK ...]
--screenshots DIR: also load index.html and one API page in headless Chromium and save PNGs there (needs Debian's
`chromium`: apt-get install -y chromium).
Exit status 1, with one line per problem, when a notebook cannot be processed or a saved output holds an error.
"""
import argparse, html, json, os, re, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/"nbs"
SITE_URL = "https://ft-nb.github.io/ft_nb/"
API_PAGE = "launch.html"             # the API page in the screenshot: its first screen shows two show_doc entries
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")

class DocsError(Exception): pass

def page_name(nb:Path)->str:
    "nbdev's page name for a notebook: the stem without its numeric prefix (00a_runs -> runs.html)."
    return re.sub(r"^\d+[a-zA-Z]?_", "", nb.stem) + ".html"

def sidebar_entries(path:Path=NBS/"sidebar.yml")->list:
    "[(section or None, notebook file name)] from nbs/sidebar.yml, in order."
    import yaml
    d = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    def walk(items, section=None):
        for it in items or []:
            if isinstance(it, str): out.append((section, it))
            elif isinstance(it, dict) and "contents" in it: walk(it["contents"], it.get("section") or it.get("text"))
            elif isinstance(it, dict) and "href" in it: out.append((section, it["href"]))
    walk(((d.get("website") or {}).get("sidebar") or {}).get("contents"))
    return out

# ---------------------------------------------------------------------------------------------------------------------
# nbdev's processing, one notebook per process

_PROC = """
import copy, json, os, sys
from pathlib import Path
from nbdev.serve_drv import main
from nbdev.processors import FilterDefaults, exec_show_docs
errors = []
class tolerant_exec_show_docs(exec_show_docs):
    "nbdev's processor, but a failing cell is recorded (nbdev_docs would stop there) and keeps its saved outputs."
    def __call__(self, cell):
        saved = copy.deepcopy(cell.get("outputs"))
        try: super().__call__(cell)
        except Exception as e:
            c = e.__cause__ or e
            lines = [l for l in cell.source.strip().splitlines() if not l.lstrip().startswith("#|")] or [""]
            errors.append(dict(cell=cell.get("id") or cell.idx_, first_line=lines[0][:100],
                               error=(type(c).__name__ + ": " + " ".join(str(c).split()))[:300]))
            if saved is not None: cell["outputs"] = saved
            self.k.exc = None   # else every later cell re-raises it
class Tolerant(FilterDefaults):
    def base_procs(self): return [tolerant_exec_show_docs if p is exec_show_docs else p for p in super().base_procs()]
class NoExec(FilterDefaults):   # fallback: the page without show_doc output
    def base_procs(self): return [p for p in super().base_procs() if p is not exec_show_docs]
dst = Path(sys.argv[2])
main((Path(sys.argv[1]), dst, NoExec if sys.argv[3:] == ["noexec"] else Tolerant))
dst.with_suffix(".errors.json").write_text(json.dumps(errors))
"""

def _last_error(stderr:str)->str:
    "The exception nbdev raised: its message and, for a cell, the cell's first line."
    m = re.search(r"^Exception: (Error.*? in cell \d+) :\n(.*?)\n", stderr, re.M)
    last = [l for l in stderr.strip().splitlines() if l.strip()][-1:] or ["no output"]
    return f"{m.group(1)} ({m.group(2)[:80]!r} ...): {last[0][:200]}" if m else last[0][:300]

def proc_nb(src:Path, dst:Path, timeout:int=600, log=print)->tuple:
    """Run nbdev's docs processors on `src`, writing `dst` (from the project root, as `nbdev_docs` does).
    Returns (problem or None, [cells nbdev_docs would stop at]). A cell that fails while nbdev runs the notebook's
    import, export and show_doc cells is recorded and skipped, so the page still gets every show_doc."""
    env = dict(os.environ, IN_TEST="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONWARNINGS="ignore", MPLBACKEND="Agg")
    def run(*x):
        try: return subprocess.run([sys.executable, "-c", _PROC, str(src), str(dst), *x], cwd=ROOT, env=env,
                                   capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired: return None
    t = time.time(); r = run()
    errs = dst.with_suffix(".errors.json")
    if r is not None and r.returncode == 0 and dst.exists():
        cells = json.loads(errs.read_text()) if errs.exists() else []
        stops = [f"nbs/{src.name}: cell id {c['cell']} ({c['first_line']!r}) fails when nbdev's docs processing runs "
                 f"it "
                 f"(it runs every cell holding an import, from the project root): {c['error']}" for c in cells]
        stop = f", {len(cells)} cells nbdev_docs would stop at" if cells else ""
        log(f"  {src.name}: {time.time()-t:.0f} s{stop}")
        return None, stops
    why = (f"took over {timeout} s: a cell that imports something also computes (nbdev runs every cell with an "
           f"import); keep imports in cells of their own" if r is None else f"failed: {_last_error(r.stderr)}")
    msg = f"nbs/{src.name}: nbdev's docs processing {why}; the page has no show_doc output"
    log("  " + msg)
    run("noexec")
    return msg, []

# ---------------------------------------------------------------------------------------------------------------------
# from a processed notebook to HTML

_DIRECTIVE = re.compile(r"^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$")

def _src(c)->str: return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]

def _directives(src:str):
    "Leading `#| key: value` lines of a cell: (dict, source without them)."
    d, lines = {}, src.splitlines()
    while lines and (m := _DIRECTIVE.match(lines[0])):
        d[m.group(1).lower()] = m.group(2).lower() or "true"; lines.pop(0)
    return d, "\n".join(lines)

def _frontmatter(nb)->dict:
    "Title and description from the raw frontmatter cell nbdev's FrontmatterProc writes (removed)."
    import yaml
    fm = {}
    for c in list(nb.cells):
        s = _src(c).strip()
        if c.cell_type == "raw" and s.startswith("---") and s.endswith("---"):
            try: fm.update(yaml.safe_load(s.strip("-")) or {})
            except Exception: pass
            nb.cells.remove(c)
    return fm

def _fences(md:str)->str:
    "Quarto/pandoc fenced divs (`::: {.callout-note}` ... `:::`) as HTML divs."
    def open_(m):
        attrs = m.group(1) or ""
        classes = " ".join(c[1:] for c in re.findall(r"\.[\w-]+", attrs))
        return f'\n<div class="{html.escape(classes)}">\n'
    md = re.sub(r"^:{3,}\s*\{([^}]*)\}\s*$", open_, md, flags=re.M)
    md = re.sub(r"^:{3,}\s*([\w-]+)\s*$", lambda m: f'\n<div class="{m.group(1)}">\n', md, flags=re.M)
    return re.sub(r"^:{3,}\s*$", "\n</div>\n", md, flags=re.M)

def prepare(nb)->dict:
    "Apply the cell options Quarto would read, turn fenced divs into HTML; return the frontmatter."
    import nbformat
    fm = _frontmatter(nb)
    cells = []
    for c in nb.cells:
        c.metadata = {k: v for k, v in c.metadata.items() if k in ("tags",)}   # execnb's timings etc. do not validate
        if c.cell_type == "markdown":   # a markdown `#| export` (the module docstring) keeps its directive line
            c.source = _fences(_directives(_src(c))[1])
        elif c.cell_type == "code":
            d, c.source = _directives(_src(c))
            if d.get("include") == "false": continue
            if d.get("echo") == "false": c.metadata["tags"] = list(c.metadata.get("tags", [])) + ["remove_input"]
            if d.get("output") == "false": c.outputs = []
            if d.get("output") == "asis":   # printed markdown becomes page text
                txt = "".join(o.get("text", "") for o in c.get("outputs", []) if o.get("output_type") == "stream")
                txt += "".join(o.get("data", {}).get("text/markdown", "") for o in c.get("outputs", []) if "data" in o)
                cells.append(nbformat.v4.new_markdown_cell(_fences(txt)))
                continue
            if not c.source.strip() and not c.get("outputs"): continue
        elif c.cell_type == "raw": continue
        cells.append(c)
    nb.cells = cells
    return fm

def _slug(s:str)->str:
    return re.sub(r"[^\w.\-]", "", re.sub(r"\s+", "-", html.unescape(re.sub(r"<[^>]+>", "", s)).strip().lower()))

def fix_html(body:str, pages:dict)->str:
    "Relative links for the site's own URLs and notebook names; Quarto-style (lowercase) heading ids."
    def href(m):
        url = html.unescape(m.group(1))
        if url.startswith(SITE_URL): url = url[len(SITE_URL):] or "index.html"
        base, _, frag = url.partition("#")
        if base.endswith(".ipynb") and "/" not in base and not base.startswith("http"):
            base = pages.get(base, page_name(Path(base)))
        return f'href="{html.escape(base + ("#" + frag if frag else ""))}"'
    body = re.sub(r'href="([^"]*)"', href, body)
    def heading(m):
        tag, attrs, inner = m.group(1), m.group(2), m.group(3)
        attrs = re.sub(r'\s*id="[^"]*"', "", attrs)
        return f'<{tag}{attrs} id="{_slug(inner)}">{inner}</{tag}>'
    body = re.sub(r'<(h[1-6])([^>]*)>(.*?)</\1>', heading, body, flags=re.S)
    seen = {}
    def unique(m):   # a prose heading may share a show_doc heading's name: later ones get -1, -2, ...
        i = m.group(1); n = seen.get(i, 0); seen[i] = n + 1
        return f' id="{i}-{n}"' if n else m.group(0)
    body = re.sub(r' id="([^"]*)"', unique, body)
    # show_doc's source link carries Quarto attributes ({target="_blank" style=...})
    body = re.sub(r'(<a href="[^"]*")>source</a>\{[^}<]*\}', r'\1 class="source-link" target="_blank">source</a>', body)
    return re.sub(r'<a class="anchor-link"[^>]*>¶</a>', "", body)

def drop_private_links(out:Path):
    """nbdev links every backticked documented name, private ones (`_x`) too, though it shows no doc for them: such a
    link to an anchor missing from its page becomes plain code."""
    ids = {f.name: set(re.findall(r' id="([^"]*)"', f.read_text(encoding="utf-8"))) for f in out.glob("*.html")}
    for f in out.glob("*.html"):
        t = f.read_text(encoding="utf-8")
        def fix(m):
            page, frag = m.group(1) or f.name, m.group(2)
            return m.group(3) if frag.startswith("_") and frag not in ids.get(page, ()) else m.group(0)
        new = re.sub(r'<a href="([\w.-]*\.html)?#(_[^"]*)">(.*?)</a>', fix, t, flags=re.S)
        if new != t: f.write_text(new, encoding="utf-8")

CSS = """
body{margin:0;font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#212529;line-height:1.5}
header{background:#2780e3;color:#fff;padding:.6rem 1.5rem;font-size:1.25rem}header a{color:#fff;text-decoration:none}
.layout{display:flex}nav{width:15rem;flex:none;padding:1rem;border-right:1px solid #dee2e6;font-size:.9rem;
min-height:100vh}nav ul{list-style:none;padding-left:0;margin:0}nav li{margin:.15rem 0}nav a{color:#343a40;
text-decoration:none}nav a.active{font-weight:600;color:#2780e3}nav .section{margin-top:.8rem;font-weight:600}
main{padding:1rem 2.5rem;max-width:60rem;min-width:0}a{color:#2780e3}.description{font-size:1.15rem;color:#5a6570}
pre{background:#f7f7f7;padding:.6rem .8rem;overflow-x:auto;border-radius:4px;font-size:.85rem}
code{font-size:.875em;color:#9753b8}pre code{color:inherit}table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #dee2e6;padding:.25rem .5rem;font-size:.85rem}.jp-OutputArea-output pre{background:#fff}
.jp-Cell{margin:.4rem 0}.jp-InputArea-prompt,.jp-OutputPrompt{display:none}img{max-width:100%}
blockquote{margin:.5rem 0;padding:.1rem 1rem;border-left:4px solid #dee2e6;color:#495057}
.source-link{float:right;font-size:smaller}
.callout-note,.callout-tip,.callout-warning,.callout-important,.callout-caution{border-left:4px solid #2780e3;
padding:.3rem 1rem;background:#f3f8fd;margin:.6rem 0}.callout-warning,.callout-caution{border-color:#ff7518}
"""

def page_html(title, description, body, nav, name)->str:
    links = []
    for section, label, href in nav:
        if section and (not links or links[-1][0] != section): links.append((section, None))
        links.append((section, (label, href)))
    items = []
    for section, it in links:
        if it is None: items.append(f'<li class="section">{html.escape(section)}</li>'); continue
        label, href = it
        cls = ' class="active"' if href == name else ""
        items.append(f'<li><a href="{href}"{cls}>{html.escape(label)}</a></li>')
    desc = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(description))
    desc = f'<p class="description">{desc}</p>' if description else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} – ft_nb</title>
<link rel="stylesheet" href="site.css"><link rel="stylesheet" href="styles.css">
</head><body><header><a href="index.html">ft_nb</a></header><div class="layout"><nav><ul>
{chr(10).join(items)}
</ul></nav><main><h1 class="title" id="title">{html.escape(title)}</h1>{desc}
{body}
</main></div></body></html>
"""

def saved_errors(nb_path:Path)->list:
    "Problems in a notebook's saved outputs: error outputs (tracebacks)."
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return [f"nbs/{nb_path.name}: cell {i} has a saved error output ({o.get('ename')}: {o.get('evalue', '')[:120]}); "
            f"re-run the notebook or clear that output"
            for i, c in enumerate(nb["cells"]) for o in c.get("outputs", []) if o.get("output_type") == "error"]

def render(proc:Path, pages:dict, nav:list)->tuple:
    "HTML of one processed notebook: (page name, title, html)."
    import nbformat
    from nbconvert import HTMLExporter
    nb = nbformat.read(proc, as_version=4)
    fm = prepare(nb)
    from nbconvert.preprocessors import TagRemovePreprocessor
    exp = HTMLExporter(template_name="basic")
    exp.exclude_input_prompt = exp.exclude_output_prompt = True
    exp.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"remove_input"}), enabled=True)
    body, _ = exp.from_notebook_node(nb)
    name = pages[proc.name]
    title = str(fm.get("title") or proc.stem)
    return name, title, page_html(title, str(fm.get("description") or ""), fix_html(body, pages), nav, name)

def build(out:Path=ROOT/"_docs", notebooks=None, workers:int=2, log=print)->dict:
    "Build the site into `out`; returns dict(pages={name: title}, problems=[...], seconds)."
    t0 = time.time()
    nbs = sorted(Path(n).resolve() for n in notebooks) if notebooks else \
        sorted(p for p in NBS.glob("*.ipynb") if not p.name.startswith("_"))
    pages = {p.name: ("index.html" if p.stem == "index" else page_name(p)) for p in NBS.glob("*.ipynb")}
    problems = [e for p in nbs for e in saved_errors(p)]
    side = sidebar_entries()
    problems += [f"nbs/sidebar.yml lists {f}, which does not exist" for _, f in side if not (NBS/f).exists()]
    listed = {f for _, f in side}
    problems += [f"nbs/{p.name} is not in nbs/sidebar.yml" for p in nbs if p.name not in listed]
    out.mkdir(parents=True, exist_ok=True)
    for f in out.glob("*.html"): f.unlink()
    with tempfile.TemporaryDirectory(prefix="ft_nb_docs_") as td:
        procd = Path(td)
        with ThreadPoolExecutor(workers) as ex:
            res = list(ex.map(lambda p: proc_nb(p, procd/p.name, log=log), nbs))
        problems += [e for e, _ in res if e]
        stops = [s for _, ss in res for s in ss]
        log(f"processed {len(nbs)} notebooks with nbdev in {time.time()-t0:.0f} s")
        titles = {}
        for p in nbs:
            if not (procd/p.name).exists(): continue
            import nbformat
            fm = _frontmatter(nbformat.read(procd/p.name, as_version=4))
            titles[p.name] = str(fm.get("title") or p.stem)
        nav = [(sec, titles.get(f, f), pages.get(f, f)) for sec, f in side if f in titles]
        done = {}
        for p in nbs:
            if not (procd/p.name).exists(): continue
            name, title, text = render(procd/p.name, pages, nav)
            (out/name).write_text(text, encoding="utf-8"); done[name] = title
    drop_private_links(out)
    from pygments.formatters import HtmlFormatter
    (out/"site.css").write_text(CSS + HtmlFormatter(style="default").get_style_defs(".highlight"), encoding="utf-8")
    for f in [NBS/"styles.css"]: shutil.copy(f, out/f.name) if f.exists() else None
    for d in [p for p in NBS.iterdir() if p.is_dir() and p.name in ("images",)]:
        shutil.copytree(d, out/d.name, dirs_exist_ok=True)
    (out/"site.json").write_text(json.dumps(dict(pages=done, notebooks={p.name: pages[p.name] for p in nbs}),
                                            indent=1), encoding="utf-8")
    log(f"wrote {len(done)} pages to {out} in {time.time()-t0:.0f} s")
    return dict(pages=done, problems=problems, nbdev_stops=stops, seconds=time.time()-t0)

# ---------------------------------------------------------------------------------------------------------------------
# screenshots with headless Chromium

def chromium()->str|None:
    return next((p for c in CHROMIUM if (p := shutil.which(c))), None)

def screenshot(page:Path, png:Path, width:int=1280, height:int=1000, fragment:str="")->Path:
    "Load `page` (at `#fragment`) in headless Chromium and save a PNG of the first screen."
    exe = chromium()
    if exe is None: raise DocsError("headless Chromium not found: install it with `apt-get install -y chromium`")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ft_nb_chromium_") as prof:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", f"--user-data-dir={prof}", f"--window-size={width},{height}",
               f"--screenshot={png}", page.resolve().as_uri() + (f"#{fragment}" if fragment else "")]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode or not png.exists(): raise DocsError(f"chromium failed ({r.returncode}): {r.stderr[-500:]}")
    try:                                # 64 colours: a third of the size, text still crisp
        from PIL import Image
        Image.open(png).convert("RGB").quantize(colors=64).save(png, optimize=True)
    except ImportError: pass
    return png

def screenshots(site:Path, dest:Path)->list:
    "The index and one API page as PNGs in `dest`."
    page, _, frag = API_PAGE.partition("#")
    return [screenshot(site/"index.html", dest/"docs_index.png"),
            screenshot(site/page, dest/"docs_api.png", fragment=frag)]

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*")
    ap.add_argument("--out", type=Path, default=ROOT/"_docs")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--screenshots", type=Path, help="save PNGs of the index and an API page here")
    a = ap.parse_args(argv)
    res = build(a.out, a.notebooks, a.workers)
    for p in res["problems"]: print("problem:", p)
    for p in res["nbdev_stops"]: print("nbdev_docs would stop:", p)
    if a.screenshots:
        for png in screenshots(a.out, a.screenshots): print(f"screenshot {png} ({png.stat().st_size//1024} KiB)")
    return 1 if res["problems"] else 0

if __name__ == "__main__": sys.exit(main())
