#!/usr/bin/env python3
"""Line and branch coverage of src/ over the whole suite (make coverage).

make test runs the unit and integration suites on the coverage build
(Makefile: build/cov/).  The unit tests write their counts to build/cov/;
the program, run by web servers as www-data or root, to
build/cov-gcda/uid-N/ beside the program it ran as (a staged copy's:
rig.stage()).  merge() adds those trees into build/cov/ with gcov-tool,
report() has gcovr read it, and the totals must stay at or above FLOOR.

    python3 tests/coverage.py    the table of the last make test, or a
                                 whole run (tests/run) when there is none
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import rig  # noqa: E402

# The floor make test holds the totals to, in percent.  Raise it when you
# add tests (to what tests/run prints, rounded down); never lower it.
FLOOR = {"lines": 95, "branches": 86}

COV = ROOT / "build" / "cov"
PROGRAM = COV / "insuresign-connect.fcgi"
MERGED = COV / "merged"      # written when a whole run's counts are in


def data_dirs():
    """Where the program's processes write their counts: beside
    build/cov/, and beside its staged copy when there is one."""
    dirs = [Path(f"{COV}-gcda")]
    if rig.STAGE is not None:
        dirs.append(Path(f"{rig.STAGE / COV.relative_to(ROOT)}-gcda"))
    return dirs


def prepare():
    """Forgets the counts of earlier runs; makes the directories every
    user may write its own tree in (sticky, as /tmp is)."""
    MERGED.unlink(missing_ok=True)
    for f in COV.rglob("*.gcda"):
        f.unlink()
    for d in data_dirs():
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        d.chmod(0o1777)


def merge():
    """Adds every user's tree (build/cov-gcda/uid-N/) to the unit tests'
    counts in build/cov/; returns the trees."""
    trees = [t for d in data_dirs() if d.is_dir()
             for t in sorted(d.iterdir()) if t.is_dir()]
    with tempfile.TemporaryDirectory() as tmp:
        acc = Path(tmp) / "acc"
        shutil.copytree(COV, acc, ignore=shutil.ignore_patterns(
            "*.o", "*.d", "*.gcno", "test_*", "*.fcgi"))
        for i, tree in enumerate(trees):
            out = Path(tmp) / f"m{i}"
            subprocess.run(["gcov-tool", "merge", "-o", str(out), str(acc),
                            str(tree)], check=True, capture_output=True)
            acc = out
        for f in acc.rglob("*.gcda"):
            shutil.copyfile(f, COV / f.relative_to(acc))
    MERGED.write_text("".join(f"{t}\n" for t in trees))
    return trees


def summary():
    """{file: (lines covered, lines, branches covered, branches)} of src/,
    from gcovr."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(["gcovr", "--root", str(ROOT), "--filter", "src/",
                        "--object-directory", str(COV), "-j", "2",
                        "--json-summary", out.name, str(COV)],
                       cwd=ROOT, check=True, capture_output=True)
        files = json.loads(Path(out.name).read_text())["files"]
    return {Path(f["filename"]).name: (
        f["line_covered"], f["line_total"],
        f["branch_covered"], f["branch_total"]) for f in files}


def pct(covered, total):
    return 100.0 * covered / total if total else 100.0


def table(rows):
    """The per-file table, and the totals: (lines, (line %, branch %))."""
    out = [f"  {'src/':<22}{'lines':>16}{'branches':>18}"]
    tot = [0, 0, 0, 0]
    for name in sorted(rows):
        lc, lt, bc, bt = rows[name]
        tot = [a + b for a, b in zip(tot, rows[name])]
        out.append(f"  {name:<22}{pct(lc, lt):6.1f} % {lc:4}/{lt:<4}"
                   f"{pct(bc, bt):8.1f} % {bc:4}/{bt}")
    lines, branches = pct(tot[0], tot[1]), pct(tot[2], tot[3])
    out.append(f"  {'total':<22}{lines:6.1f} % {tot[0]:4}/{tot[1]:<4}"
               f"{branches:8.1f} % {tot[2]:4}/{tot[3]}")
    return out, (lines, branches)


def below_floor(totals):
    """The totals under FLOOR, as words, or []."""
    return [f"{what} {got:.1f} % < {FLOOR[what]} %"
            for what, got in zip(("lines", "branches"), totals)
            if got < FLOOR[what]]


def main():
    if not MERGED.exists():
        print("no counts from a whole run: running tests/run first",
              flush=True)
        return subprocess.run([sys.executable, str(ROOT / "tests/run")],
                              cwd=ROOT).returncode
    lines, totals = table(summary())
    print("\n".join(lines))
    print(f"  floor: lines {FLOOR['lines']} %, branches "
          f"{FLOOR['branches']} % (tests/coverage.py)")
    return 1 if below_floor(totals) else 0

if __name__ == "__main__":
    sys.exit(main())
