"""Do the tests fail when the code they check is broken? A small, fixed set of mutations, each run against its tests.

Each mutation replaces one exact piece of a package file by a plausible bug
(a wrong constant, a dropped rounding term, a swapped index), in a copy of
the committed tree, then runs the tests that should notice. "caught" means
at least one of them failed; "survived" means the suite would not notice
that bug. The working tree is never touched.

    python tools/mutations.py            # all mutations (a few minutes on 2 cores)
    python tools/mutations.py stats liif # only those whose name contains a word given

The same tests are first run unmutated in the copy and must pass (the
control). Exit code 1 if the control fails or a mutation survived or no
longer applies (the code it names moved: update the list), 0 otherwise.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str      # file in the repository
    old: str       # exact text, found exactly once
    new: str       # the bug
    tests: tuple[str, ...]  # pytest arguments that should fail


MUTATIONS = [
    Mutation("metrics: wrong BT.601 blue weight in PSNR-Y", "reproduce/metrics.py",
             "_Y_MATLAB = (65.481, 128.553, 24.966)", "_Y_MATLAB = (65.481, 128.553, 25.966)", ("tests/test_metrics.py",)),
    Mutation("imresize: truncation instead of MATLAB rounding", "reproduce/imresize.py",
             "torch.floor(out.abs() + 0.5)", "torch.floor(out.abs())", ("tests/test_imresize.py",)),
    Mutation("stats: a 90 % interval reported as 95 %", "reproduce/stats.py",
             "alpha = (1 - level) / 2", "alpha = (1 - level)", ("tests/test_stats.py",)),
    Mutation("liif: local-ensemble weights not swapped diagonally", "reproduce/models/liif.py",
             "areas = [areas[3], areas[2], areas[1], areas[0]]", "areas = [areas[0], areas[1], areas[2], areas[3]]",
             ("tests/test_liif.py",)),
    Mutation("data: evaluation crop from the bottom-right corner", "reproduce/data/datasets.py",
             "np.ascontiguousarray(hr[: hr_crop[0], : hr_crop[1]])", "np.ascontiguousarray(hr[-hr_crop[0]:, -hr_crop[1]:])",
             ("tests/test_data.py", "tests/test_survey.py")),
    Mutation("scores: sample check ten times too lenient", "reproduce/scores.py",
             "if diff.max() > tol:", "if diff.max() > 10 * tol:", ("tests/test_scores.py",)),
    Mutation("predict: column of a query taken modulo the height", "reproduce/engine/predict.py",
             "xs[index % width]", "xs[index % height]", ("tests/test_liif.py", "tests/test_evaluate.py")),
    Mutation("niqe: MSCN Gaussian of the wrong width", "reproduce/niqe.py",
             "_GAUSS_SIGMA = 7.0 / 6.0", "_GAUSS_SIGMA = 7.0 / 5.0", ("tests/test_niqe.py",)),
    Mutation("claims: 'still improving' tested for a falling curve", "reproduce/claims.py",
             "return trend_claim([s / 1000 for s, _ in tail], [v for _, v in tail], +1,",
             "return trend_claim([s / 1000 for s, _ in tail], [v for _, v in tail], -1,", ("tests/test_claims.py",)),
    Mutation("ledger: a pending claim dropped from the ledger", "reproduce/ledger.py",
             "parts = [read_claims(p) for p in claims_files(results_dir)]",
             "parts = [read_claims(p) for p in claims_files(results_dir)][:-1]", ("tests/test_ledger.py",)),
]


def committed_tree(dest: Path) -> None:
    """The tracked files at HEAD, as committed, under ``dest``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def run_mutation(m: Mutation, tree: Path) -> tuple[str, float]:
    """Apply ``m`` in ``tree``, run its tests, restore the file: ("caught" | "survived" | "does not apply", seconds)."""
    path = tree / m.path
    original = path.read_text()
    if original.count(m.old) != 1:
        return "does not apply", 0.0
    path.write_text(original.replace(m.old, m.new))
    try:
        start = time.perf_counter()
        # cwd = the copy: `python -m pytest` imports its package, not the installed one
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *m.tests],
                              cwd=tree, capture_output=True, text=True)
        return ("caught" if done.returncode == 1 else "survived" if done.returncode == 0
                else f"error (pytest exit {done.returncode})"), time.perf_counter() - start
    finally:
        path.write_text(original)


def main(words: list[str]) -> int:
    chosen = [m for m in MUTATIONS if not words or any(w in m.name for w in words)]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp)
        committed_tree(tree)
        # the control: unmutated, the same tests must pass in the copy, or "caught" would mean nothing
        tests = sorted({t for m in chosen for t in m.tests})
        control = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                                 cwd=tree, capture_output=True, text=True)
        if control.returncode != 0:
            print(f"the unmutated tests fail in the copy (pytest exit {control.returncode}):\n{control.stdout[-2000:]}")
            return 1
        print(f"control: {', '.join(tests)} pass unmutated")
        print(f"{'outcome':<16} {'seconds':>7}  mutation (tests)")
        for m in chosen:
            outcome, seconds = run_mutation(m, tree)
            bad += outcome != "caught"
            print(f"{outcome:<16} {seconds:7.1f}  {m.name} ({', '.join(m.tests)})", flush=True)
    print(f"{len(chosen) - bad} of {len(chosen)} mutations caught")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
