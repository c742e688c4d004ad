"""The study's claims ledger: every tested claim of every notebook in one table, and the untested ones named.

Notebooks test claims with ``reproduce.claims`` and save them as
``results/<name>_claims.csv`` (the fields of ``ClaimResult``) with a
provenance sidecar naming the notebook. :func:`collect` gathers them into
the ledger (``results/claims.csv``, columns :data:`COLUMNS`) and adds the
claims the study has not tested yet (:data:`PENDING`) with the verdict
"not tested" and the reason, so a reader sees what is missing as plainly as
what was found.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .scores import read_provenance
from .stats import VERDICTS

COLUMNS = ["source", "claim", "ours", "ci_low", "ci_high", "win_rate", "n", "paper", "budget", "verdict", "notebook", "scope"]

# Who made each notebook's claims, and the training budget behind its models.
NOTEBOOK_CONTEXT = {
    "02_train": ("this study", "LIIF 6000 steps (batch 16) on the 291 images; one run"),
    "03_evaluate": ("LIIF paper (Tables 1-2) and this study's x4 bar",
                    "LIIF: CPU budget (6000 steps, batch 16, 291 images), one model"),
    "04_compare": ("LIIF paper (Table 1), SRGAN paper, course report (Set5)",
                   "CPU budget: LIIF, MetaSR, SRCNN, SRResNet 6000 steps x batch 16 each, SRGAN a 1000-step fine-tune "
                   "of SRResNet; one model each (04's budget table)"),
    "05_ablations": ("LIIF paper, ablation table and Table 1",
                     "every arm LIIF's CPU budget (6000 steps, batch 16); seeds per arm in 05's budget table"),
    "06_ipf": ("IPF paper and this study",
               "LIIF 6000 steps; each IPF arm a further 800 steps x 8 patches of 64 px (LIIF frozen), one model per arm"),
    "07_normals": ("source report (normal maps) and this study",
                   "LIIF 6000 steps on photographs; 10 fine-tuned models (2 variants x 5 folds), 200 steps x 8 crops each"),
    "08_thumbnails": ("source report (thumbnails)",
                      "CPU budget: LIIF, MetaSR, SRCNN 6000 steps each; IPF a further 800 steps x 8 patches on the frozen "
                      "LIIF; one model per method"),
}

# The paper's and the source reports' claims that no notebook tests yet (issue numbers as filed).
PENDING = [
    ("source report (normal maps)", "IPF fine-tuned on the detail component beats LIIF on normal maps", "07_normals",
     "IPF exists (06_ipf) but has not been fine-tuned on normal maps yet"),
]


def claims_files(results_dir: str | Path) -> list[Path]:
    """The notebooks' claim tables under ``results_dir`` (``*_claims.csv``), sorted."""
    return sorted(p for p in Path(results_dir).glob("*_claims.csv"))


def read_claims(path: str | Path) -> pd.DataFrame:
    """One notebook's claim table in the ledger's columns (notebook from its provenance sidecar)."""
    path = Path(path)
    table = pd.read_csv(path)
    missing = {"claim", "delta", "ci_low", "ci_high", "verdict"} - set(table.columns)
    if missing:
        raise ValueError(f"{path} is not a claims table (missing {', '.join(sorted(missing))})")
    if not set(table["verdict"]) <= set(VERDICTS):
        raise ValueError(f"{path} holds verdicts outside {VERDICTS}: {sorted(set(table['verdict']) - set(VERDICTS))}")
    info = read_provenance(path)
    notebook, profile = info.get("notebook", "?"), info.get("profile", "?")
    source, budget = NOTEBOOK_CONTEXT.get(notebook, ("?", "?"))
    if profile != "report":  # the budgets above describe the committed models, which only the report profile reads as they are
        budget = f"profile {profile}: see the notebook's budget table"
    metric = table.get("metric", pd.Series([""] * len(table)))
    return pd.DataFrame({
        "source": table["source"] if "source" in table else source,
        "claim": table["claim"] + " [" + metric.astype(str) + "]",
        "ours": table["delta"], "ci_low": table["ci_low"], "ci_high": table["ci_high"],
        "win_rate": table.get("win_rate", np.nan), "n": table.get("n_images", np.nan),
        "paper": table["paper"] if "paper" in table else np.nan, "budget": budget,
        "verdict": table["verdict"], "notebook": notebook, "scope": table.get("scope", ""),
    })[COLUMNS]


def collect(results_dir: str | Path) -> pd.DataFrame:
    """The ledger: every saved claim table, then the pending claims as "not tested"."""
    parts = [read_claims(p) for p in claims_files(results_dir)]
    pending = pd.DataFrame([{"source": s, "claim": c, "ours": np.nan, "ci_low": np.nan, "ci_high": np.nan, "win_rate": np.nan,
                             "n": np.nan, "paper": np.nan, "budget": "-", "verdict": "not tested", "notebook": nb,
                             "scope": reason} for s, c, nb, reason in PENDING], columns=COLUMNS)
    return pd.concat([*parts, pending], ignore_index=True) if parts else pending


def verdict_counts(ledger: pd.DataFrame) -> pd.DataFrame:
    """Claims per notebook and verdict (every verdict a column, zeros included)."""
    counts = ledger.groupby(["notebook", "verdict"]).size().unstack(fill_value=0)
    return counts.reindex(columns=list(VERDICTS), fill_value=0).reset_index()


GLANCE_START = "<!-- results at a glance: generated by 09_summary from results/claims.csv; do not edit -->"
GLANCE_END = "<!-- end of results at a glance -->"


def glance(ledger: pd.DataFrame, stamp: str = "") -> str:
    """The README's "results at a glance" in Markdown, from the ledger: verdicts per notebook and what is untested.

    ``stamp``: where the ledger came from (run, commit), printed under the table.
    """
    from .report import markdown_table

    counts = verdict_counts(ledger)
    total = {"notebook": "**all**", **{v: int(counts[v].sum()) for v in VERDICTS}}
    lines = ["Claims per notebook and verdict (`results/claims.md` has each claim with its effect, 95 % interval, "
             "budget and scope):", "", markdown_table(pd.concat([counts, pd.DataFrame([total])], ignore_index=True))]
    untested = ledger[ledger["verdict"] == "not tested"]
    if len(untested):
        lines += ["", "Not tested yet:", ""]
        lines += [f"* {r.claim} (`{r.notebook}`): {r.scope}" for r in untested.itertuples()]
    if stamp:
        lines += ["", stamp]
    return "\n".join(lines)


def update_readme(path: str | Path, block: str) -> Path:
    """Replace the text between :data:`GLANCE_START` and :data:`GLANCE_END` in ``path`` by ``block`` (atomic write).

    Raises:
        ReproduceError: the file lacks the two markers, in that order, once each.
    """
    from .errors import ReproduceError
    from .fileio import write_text_atomic

    path = Path(path)
    text = path.read_text()
    if text.count(GLANCE_START) != 1 or text.count(GLANCE_END) != 1 or text.index(GLANCE_START) > text.index(GLANCE_END):
        raise ReproduceError(f"{path} needs the results-at-a-glance markers once each, in order: {GLANCE_START} ... {GLANCE_END}")
    head, rest = text.split(GLANCE_START)
    tail = rest.split(GLANCE_END)[1]
    return write_text_atomic(path, f"{head}{GLANCE_START}\n{block.strip()}\n{GLANCE_END}{tail}")


# The study's ablation tables: (file under results/, notebook, reference method, metric if the file has no column).
ABLATION_TABLES = [("ablations.csv", "05_ablations", "LIIF", "psnr"), ("ipf_ablations.csv", "06_ipf", "IPF", None)]
ABLATION_COLUMNS = ["notebook", "method", "reference", "metric", "set", "scale", "seeds", "paired_images", "delta",
                    "ci_low", "ci_high", "win_rate", "paper_delta"]


def ablation_overview(results_dir: str | Path) -> pd.DataFrame:
    """The study's ablation table: LIIF's ablations (05) and IPF's (06), every arm against its full model.

    Reads ``ablations.csv`` (arm - LIIF, PSNR) and ``ipf_ablations.csv``
    (arm - IPF per metric) where they exist; one row per arm, metric, set
    and scale in :data:`ABLATION_COLUMNS` (the reference rows left out). The
    verdicts on these rows are in the ledger; this is the evidence side by side.
    """
    parts = []
    for name, notebook, reference, metric in ABLATION_TABLES:
        path = Path(results_dir) / name
        if not path.is_file():
            continue
        table = pd.read_csv(path)
        table = table[table["method"] != reference].assign(notebook=notebook, reference=reference)
        if metric is not None:
            table = table.assign(metric=metric)
        parts.append(table.reindex(columns=ABLATION_COLUMNS))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ABLATION_COLUMNS)
