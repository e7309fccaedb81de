"""Model Monitor data-quality documents, computed without AWS: the drift baseline and its check.

`compute_statistics` turns any tabular `Dataset` (a training CSV at synth, captured requests in
a monitoring run) into statistics.json; `suggest_constraints` derives constraints.json from a
baseline's statistics; `check` compares a run's statistics with the baseline's and returns the
constraint_violations.json document and each feature's drift distance. `documents.dumps` writes
any of them byte-reproducibly; `build_baseline` builds a model's two baseline files at
synth, cached by content like bundles. The JSON Schemas of the three formats are in `schemas/`.
"""

from bundler.baseline.build import Baseline, build_baseline
from bundler.baseline.constraints import suggest_constraints
from bundler.baseline.dataset import BaselineError, Column, Dataset, read_csv
from bundler.baseline.documents import dumps
from bundler.baseline.statistics import compute_statistics
from bundler.baseline.violations import CheckResult, Violation, check

__all__ = [
    "Baseline",
    "BaselineError",
    "CheckResult",
    "Column",
    "Dataset",
    "Violation",
    "build_baseline",
    "check",
    "compute_statistics",
    "dumps",
    "read_csv",
    "suggest_constraints",
]
