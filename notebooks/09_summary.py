# %% [markdown]
# # 09 · Summary: the claims ledger
#
# Every claim the study has tested, from the claim tables the notebooks
# saved (`results/*_claims.csv`), and every claim it has not tested yet,
# named with the reason. Each tested claim is a paired comparison on
# per-image (or per-object) scores with a 95 % bootstrap interval; the
# verdict words are *reproduced* (the interval lies on the claimed side),
# *contradicted* (on the other side), *within noise* (it straddles zero) and
# *not tested*. Where a comparison rests on one trained model per method the
# interval covers the choice of test images, not training noise (the seed-to-
# seed spread is measured by the ablations, not yet run). This notebook
# computes nothing new: it reads what the others wrote, so it is only as
# current as their last run (each table's provenance says when and at which
# commit).

# %% tags=["parameters"]
profile = "report"                                   # parameter profile (set by `reproduce run`)
results_dir = "results"                              # where the notebooks' tables are, and where the ledger goes

# %%
# Run from the repository root whatever the working directory (Jupyter opens notebooks in notebooks/).
from reproduce.paths import enter_repository_root
enter_repository_root()

import json

import pandas as pd
from IPython.display import Markdown, display

from reproduce.ledger import claims_files, collect, verdict_counts
from reproduce.report import Run, markdown_table, save_table

run = Run("09_summary", profile)
display(Markdown(run.markdown()))

# %% [markdown]
# ## Where the claims come from
#
# Each claim table, with the commit and time of the run that wrote it.

# %%
origin = []
for path in claims_files(results_dir):
    side = path.with_name(path.stem + ".provenance.json")
    info = json.loads(side.read_text()) if side.is_file() else {}
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
# ## Budgets behind the tested claims

# %%
display(Markdown(markdown_table(ledger[ledger["verdict"] != "not tested"][["notebook", "budget"]].drop_duplicates())))
