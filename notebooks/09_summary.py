# %% [markdown]
# # 09 · Summary: the claims ledger
#
# Every claim the study has tested, from the claim tables the notebooks
# saved (`results/*_claims.csv`), and every claim it has not tested yet,
# named with the reason. Each tested claim is a paired comparison on
# per-image (or per-object) scores with a 95 % bootstrap interval; the
# verdict words are *reproduced* (the interval lies on the claimed side and,
# where training noise is measured, the effect exceeds its floor),
# *contradicted* (likewise on the other side), *within noise* (the interval
# straddles zero, or the effect is within the seed-noise floor that LIIF's
# seed-to-seed spread sets: for the ablations and for the PSNR claims of
# `03_evaluate` and `04_compare` at the sets and scales where that spread
# is measured, which the claim's scope then says) and *not tested*. Where a
# comparison rests on one trained model per method the interval covers the
# choice of test images, not training noise (LIIF's seed-to-seed spread,
# measured in `05_ablations`, `results/ablations_noise.md`, and IPF's,
# measured in `06_ipf` where its extra seeds are scored,
# `results/ipf_noise.md`, are the measures of it). This notebook
# computes nothing new: it reads what the others wrote, so it is only as
# current as their last run (each table's provenance says when and at which
# commit).

# %% tags=["parameters"]
profile = "report"                                   # parameter profile (set by `reproduce run`)
results_dir = "results"                              # where the notebooks' tables are, and where the ledger goes
readme = "README.md"                                 # README whose "results at a glance" block is rewritten from the ledger (None: leave it)

# %%
# Run from the repository root whatever the working directory (Jupyter opens notebooks in notebooks/).
from reproduce.paths import enter_repository_root
enter_repository_root()

import pandas as pd
from IPython.display import Markdown, display

from reproduce.ledger import ablation_overview, claims_files, collect, glance, update_readme, verdict_counts
from reproduce.report import Run, markdown_table, save_table
from reproduce.scores import read_provenance

run = Run("09_summary", profile)
display(Markdown(run.markdown()))

# %% [markdown]
# ## Where the claims come from
#
# Each claim table, with the commit and time of the run that wrote it.

# %%
origin = []
for path in claims_files(results_dir):
    info = read_provenance(path)
    origin.append({"table": path.name, "notebook": info.get("notebook", "?"), "profile": info.get("profile", "?"),
                   "commit": (info.get("commit") or "?")[:12] + (" (dirty)" if info.get("dirty") else ""),
                   "time": info.get("time", "?"), "device": info.get("device", "?")})
display(Markdown(markdown_table(pd.DataFrame(origin)) if origin else "No claim tables yet."))

# %% [markdown]
# ## The ledger

# %%
ledger = collect(results_dir)
save_table(ledger, "claims", results_dir, run)
display(Markdown(markdown_table(verdict_counts(ledger))))
shown = ledger.drop(columns=["budget"])
display(Markdown(markdown_table(shown, floatfmt=".3f")))

# %% [markdown]
# ## The README's results at a glance
#
# Generated from this ledger and written between the README's markers, so
# the README never states a count the ledger does not hold.

# %%
block = glance(ledger, stamp=f"Ledger written by `09_summary` at commit {(run.info.get('commit') or 'unknown')[:12]}"
                             f"{' (uncommitted changes)' if run.info.get('dirty') else ''}, {run.info['time'][:10]}.")
if readme:
    update_readme(readme, block)
display(Markdown(block))

# %% [markdown]
# ## The study's ablation table
#
# Every ablated arm against its full model, side by side: LIIF's arms
# (`05_ablations`: arm − LIIF in PSNR, paired on seeds and images, with the
# paper's difference where it has one) and IPF's (`06_ipf`: arm − IPF per
# metric, one model per arm, so the intervals cover the test images only).
# For ST-LPIPS and NIQE lower is better: a positive difference means the arm
# is worse than the full model. The verdicts on these rows are in the ledger.

# %%
ablations = ablation_overview(results_dir)
if len(ablations):
    save_table(ablations, "ablations_overview", results_dir, run, floatfmt=".4f")
    display(Markdown(markdown_table(ablations, floatfmt=".3f")))
else:
    display(Markdown("No ablation table yet: neither `05_ablations` nor `06_ipf` has scored an ablated arm."))

# %% [markdown]
# ## Budgets behind the tested claims

# %%
display(Markdown(markdown_table(ledger[ledger["verdict"] != "not tested"][["notebook", "budget"]].drop_duplicates())))
