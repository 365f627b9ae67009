"""Benchmark: our builds against Hugo on the same synthetic corpora (`make bench`).

For each size (default 1k and 10k; add 100000 with --sizes) it generates a corpus
(bench/corpus.py) and its Hugo twin (bench/hugo_site.py) under bench/out/, then
times, as whole processes and medians over --runs runs:

  full       clean build (no _site/, no .cache/): `build.py build` in a fresh copy
             of the corpus (working_copy); the previous copies and output trees
             (ours and Hugo's) are set aside and deleted only after every
             measurement (see set_aside)
  no-op      the same build again, nothing changed
  digest     `build.py update NEXT.txt` with a new 50-paper digest (ingest + build)
  note       build after editing one paper's notes
  template   build after editing templates/paper.html
  hugo       Hugo's full build of the twin site (public/ removed first)
  plain      the twin's site built by a plain two-process Jinja2 + markdown-it-py loop
             from the twin's own files (bench/plain_loop.py): what Python costs for
             Hugo's work, the floor of any Python build of these pages
  serve      (10k and below, once) seconds from saving a note to the reload
             message reaching a connected client and the page showing the edit

Peak memory is the largest resident set of the build's processes (GNU time's
%M, which covers forked workers). Wall time is noisy on a shared machine, so
CPU time (user + sys, children included) is printed too.

    .venv/bin/python bench/run.py --sizes 1000,10000 --runs 5
    .venv/bin/python bench/run.py --sizes 100000 --runs 1
    .venv/bin/python bench/run.py --sizes 10000 --work /dev/shm/atlas-bench   # no disk
"""
from __future__ import annotations

import argparse
import compileall
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpus as corpus_tools  # noqa: E402
import hugo_site  # noqa: E402

PYTHON = sys.executable
BUILD = str(ROOT / "build.py")
TIME = "/usr/bin/time"
SCENARIOS = ("full", "no-op", "digest", "note", "template", "hugo", "plain")
PLAIN_LOOP = str(ROOT / "bench" / "plain_loop.py")


def measure(cmd: list[str], *, cwd: Path | None = None, env: dict | None = None) -> dict:
    """Run a command; return wall seconds, CPU seconds and peak RSS (MiB); raise on failure."""
    stats = tempfile.NamedTemporaryFile(prefix="bench-time-", delete=False)
    stats.close()
    wrapped = [TIME, "-f", "%e %U %S %M", "-o", stats.name, *cmd] if Path(TIME).exists() else cmd
    started = time.perf_counter()
    result = subprocess.run(wrapped, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    out = {"wall": wall, "cpu": None, "rss_mib": None, "stdout": result.stdout}
    try:
        fields = Path(stats.name).read_text().split()[-4:]
        out["cpu"] = float(fields[1]) + float(fields[2])
        out["rss_mib"] = int(fields[3]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    finally:
        Path(stats.name).unlink(missing_ok=True)
    return out


def age(folder: Path, minutes: int = 10) -> None:
    """Set every file's mtime into the past, as on a working copy edited yesterday."""
    past = time.time() - minutes * 60
    for path in folder.rglob("*"):
        try:
            os.utime(path, (past, past), follow_symlinks=False)
        except OSError:
            pass


def remove(path: Path) -> None:
    """Delete a folder fast: rename it aside (instant), then delete it."""
    if path.exists():
        aside = path.with_name(f"{path.name}.old-{time.time_ns()}")
        os.rename(path, aside)
        shutil.rmtree(aside, ignore_errors=True)


TRASH = ".trash"
"""Folder (under --out) where output trees wait to be deleted until every measurement is done."""


def set_aside(path: Path, out_root: Path) -> None:
    """Move an output tree out of the way now and delete it after the benchmark.

    On a file system that will not reuse an inode freed in the last minutes (ext4 without
    a journal, as here: docs/performance.md, "The disk"), every file created soon after a
    big deletion pays for each freed inode it scans past, so deleting one run's 30k-file
    site would slow the next run (ours and Hugo's alike) by seconds that grow run after run.
    """
    if path.exists():
        trash = out_root / TRASH
        trash.mkdir(exist_ok=True)
        os.rename(path, trash / f"{path.parent.name}-{path.name}-{time.time_ns()}")


def empty_trash(out_root: Path) -> None:
    remove(out_root / TRASH)


def prepare(size: int, out_root: Path, seed: int, reuse: bool = False) -> tuple[Path, Path]:
    """Make (or reuse) the corpus and its Hugo twin for one size.

    A corpus is remade when the generator or the project's taxonomy changed, unless
    `reuse` (a 100k corpus takes minutes to write on a slow disk).
    """
    project = out_root / f"c{size}"
    stamp = project / ".bench-stamp"
    want = json.dumps({"size": size, "seed": seed,
                       "corpus": corpus_tools.__file__ and Path(corpus_tools.__file__).read_text(),
                       "taxonomy": corpus_tools.project_taxonomy(ROOT)}, sort_keys=True)
    papers = project / "content" / "papers"
    if not (stamp.exists() and (reuse or stamp.read_text() == want) and papers.is_dir()
            and count_files(papers) == size):
        # (a corpus an older benchmark grew with its digests is made again: its Hugo twin
        # has `size` papers, and the comparison must be like with like)
        print(f"[{size}] generating the corpus ...", flush=True)
        remove(project)
        info = corpus_tools.write_corpus(project, size, seed=seed, project=ROOT)
        print(f"[{size}] {info['papers']} papers, {info['digests']} digests in {info['seconds']} s", flush=True)
        stamp.write_text(want)
        remove(out_root / f"c{size}-hugo")
    hugo = out_root / f"c{size}-hugo"
    if not (hugo / "hugo.toml").exists():
        print(f"[{size}] writing the Hugo twin ...", flush=True)
        hugo_site.write_hugo_site(project, hugo)
    age(project / "content")
    return project, hugo


def count_files(folder: Path) -> int:
    with os.scandir(folder) as entries:
        return sum(1 for entry in entries if entry.is_file())


def working_copy(corpus: Path, work_root: Path) -> Path:
    """A fresh project for one run: the corpus's content/ hard-linked, today's templates copied.

    Every run starts from the same `size` papers as the Hugo twin, however many digests
    earlier runs ingested. Hard links are safe because nothing edits a content file in
    place: ingest, the note edit and the serve probe all write a new file and rename it
    over the old one (replace_text), so a copy's change never reaches the corpus. On
    another file system (--work on tmpfs) the files are copied.
    """
    work = work_root / f"{corpus.name}-run"
    set_aside(work, work_root)
    same_disk = os.stat(corpus).st_dev == os.stat(work_root).st_dev
    shutil.copytree(corpus / "content", work / "content",
                    copy_function=os.link if same_disk else shutil.copy2)
    # The project's templates may have moved on since the corpus was made.
    shutil.copytree(ROOT / "templates", work / "templates")
    age(work / "templates")
    return work


def build_cmd(project: Path) -> list[str]:
    return [PYTHON, BUILD, "--root", str(project), "build", "--quiet"]


def edit_note(project: Path, run: int) -> None:
    """Append a line to one paper's notes (a different line every run)."""
    path = sorted((project / "content" / "papers").glob("*.md"))[len(str(run))]
    replace_text(path, path.read_text(encoding="utf-8") + f"\nBenchmark edit {run}.\n")


def edit_template(project: Path, run: int) -> None:
    """Change a comment in templates/paper.html (every paper page depends on it)."""
    path = project / "templates" / "paper.html"
    text = re.sub(r"\{# bench \d+ #\}\n?", "", path.read_text(encoding="utf-8"))
    replace_text(path, text + f"{{# bench {run} #}}\n")


def replace_text(path: Path, text: str) -> None:
    """Save as a new file renamed over the old one, so hard-linked copies of a corpus stay apart."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def serve_latency(project: Path, timeout: float = 180.0) -> float:
    """Seconds from saving a note to a connected client being told to reload and fetching the edit."""
    import asyncio
    import urllib.request

    from tornado.websocket import websocket_connect

    proc = subprocess.Popen([PYTHON, BUILD, "--root", str(project), "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("serve exited before it was ready")
            found = re.search(r"on (http://\S+/)", line)
            if found:
                url = found.group(1)
                break
        paper = sorted((project / "content" / "papers").glob("*.md"))[7]
        page_url = f"{url}papers/{paper.stem}/"
        marker = f"serve-latency-{time.time_ns()}"

        async def go() -> float:
            ws = await websocket_connect(url.replace("http://", "ws://") + "livereload")
            await ws.write_message(json.dumps({"command": "hello", "protocols": [
                "http://livereload.com/protocols/official-7"]}))
            await ws.read_message()
            await ws.write_message(json.dumps({"command": "info", "url": page_url, "plugins": {}}))
            await asyncio.sleep(0.5)  # the server registers the client on 'info'
            started = time.perf_counter()
            replace_text(paper, paper.read_text(encoding="utf-8") + f"\n{marker}\n")
            while True:
                message = await asyncio.wait_for(ws.read_message(), timeout)
                if message and json.loads(message).get("command") == "reload":
                    break
            body = urllib.request.urlopen(page_url, timeout=timeout).read().decode()
            if marker not in body:
                raise RuntimeError("the reloaded page does not show the edit")
            return time.perf_counter() - started

        return asyncio.run(go())
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_size(size: int, runs: int, out_root: Path, seed: int, do_serve: bool,
             reuse: bool = False, work_root: Path | None = None) -> dict:
    """Every scenario for one size; returns {scenario: [measurements]}."""
    corpus, hugo = prepare(size, out_root, seed, reuse)
    work_root = work_root or out_root
    public = work_root / f"{hugo.name}-public"
    hugo_bin = hugo_site.hugo_binary()
    results: dict[str, list[dict]] = {name: [] for name in SCENARIOS}
    for run in range(runs):
        project = working_copy(corpus, work_root)  # (no _site/, no .cache/)
        results["full"].append(measure(build_cmd(project)))
        results["no-op"].append(measure(build_cmd(project)))
        edit_note(project, run)
        results["note"].append(measure(build_cmd(project)))
        edit_template(project, run)
        results["template"].append(measure(build_cmd(project)))
        # (the same digest every run: each working copy starts from the same corpus)
        digest = project / "next.txt"
        day = corpus_tools.write_update_digest(digest, project)
        results["digest"].append(measure([PYTHON, BUILD, "--root", str(project), "update",
                                          str(digest), "--quiet", "--today", str(day)]))
        set_aside(public, work_root)
        results["hugo"].append(measure([hugo_bin, "--quiet", "--source", str(hugo),
                                        "--destination", str(public)]))
        plain = work_root / f"c{size}-plain"
        set_aside(plain, work_root)
        results["plain"].append(measure([PYTHON, PLAIN_LOOP, str(hugo), str(plain)]))
        print(f"[{size}] run {run + 1}/{runs}: " + ", ".join(
            f"{k} {v[-1]['wall']:.2f}s" for k, v in results.items() if v), flush=True)
    if do_serve:
        try:
            results["serve"] = [{"wall": serve_latency(project), "cpu": None, "rss_mib": None}]
        except Exception as error:  # noqa: BLE001 - report, keep the other numbers
            print(f"[{size}] serve latency failed: {error!r}", flush=True)
    files = sum(1 for p in (project / "_site").rglob("*") if p.is_file())
    return {"size": size, "runs": runs, "files": files, "results": results}


def med(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def table(sizes: list[dict]) -> str:
    """The Markdown table of medians and ratios."""
    head = ("| papers | scenario | wall s (median) | CPU s | peak MiB | wall / Hugo full | CPU / Hugo full |\n"
            "|---:|---|---:|---:|---:|---:|---:|\n")
    rows = []
    for entry in sizes:
        res = entry["results"]
        hugo = med([m["wall"] for m in res.get("hugo", ())])
        hugo_cpu = med([m["cpu"] for m in res.get("hugo", ())])
        for name in (*SCENARIOS, "serve"):
            if not res.get(name):
                continue
            wall = med([m["wall"] for m in res[name]])
            cpu = med([m["cpu"] for m in res[name]])
            rss = max((m["rss_mib"] for m in res[name] if m["rss_mib"] is not None), default=None)
            mine = name not in ("hugo", "serve")
            ratio = f"{wall / hugo:.2f}" if hugo and mine else ""
            cpu_ratio = f"{cpu / hugo_cpu:.2f}" if hugo_cpu and cpu is not None and mine else ""
            rows.append(f"| {entry['size']:,} | {name} | {wall:.2f} | "
                        f"{'' if cpu is None else f'{cpu:.2f}'} | {'' if rss is None else f'{rss:.0f}'} | "
                        f"{ratio} | {cpu_ratio} |")
    return head + "\n".join(rows) + "\n"


def compile_package() -> None:
    """Write site_src's bytecode cache, as a user's first command does.

    Python caches compiled modules beside their sources unless told not to; an environment
    with PYTHONDONTWRITEBYTECODE=1 (this machine's) would have every measured command
    compile the package again (~0.1 s, a fifth of a 10k no-op). py_compile writes the cache
    whatever that setting says, and the builds then read it.
    """
    compileall.compile_dir(str(ROOT / "site_src"), quiet=1)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated paper counts")
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario (median)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--no-serve", action="store_true", help="skip the serve latency probe")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse existing corpora even if the taxonomy changed since")
    parser.add_argument("--work", type=Path,
                        help="folder for the measured projects and output trees, ours and Hugo's "
                             "(default: --out; e.g. /dev/shm to take the disk out of the figures)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or args.out
    work.mkdir(parents=True, exist_ok=True)
    compile_package()
    for folder in {args.out, work}:
        empty_trash(folder)  # (left by an interrupted run: deleted before, not between, the runs)
    done = []
    try:
        for size in sizes:
            done.append(run_size(size, args.runs, args.out, args.seed,
                                 do_serve=not args.no_serve and size <= 10000, reuse=args.reuse,
                                 work_root=work))
    finally:
        for folder in {args.out, work}:
            empty_trash(folder)
    load = os.getloadavg()
    print(f"\n{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(table(done))
    if args.json:
        for entry in done:
            for runs in entry["results"].values():
                for m in runs:
                    m.pop("stdout", None)
        args.json.write_text(json.dumps(done, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
