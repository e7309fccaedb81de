"""A drift check as a person reads it: Markdown with one picture per drifted feature.

`render` writes `report.md` beside the run's `constraint_violations.json` and `statistics.json`,
and `<feature>.png` for each feature with a `baseline_drift_check` violation: the baseline's and
the captured distribution on shared bins (densities, so a window of 100 rows and a baseline of
10,000 compare), with both means marked. Both distributions are read from the statistics files'
sketches, the same data the distance was computed from, so the picture shows what was compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bundler.baseline import distance

BINS = 20
DRIFT_CHECK = "baseline_drift_check"


@dataclass(frozen=True)
class Run:
    """What the report describes.

    Args:
        title: the stack and endpoint, e.g. "Prod-iris (prod-iris)".
        window: the captured records' first and last inferenceTime.
        rows / records: rows of features, in that many captured requests.
    """

    title: str
    window: tuple[str, str]
    rows: int
    records: int
    threshold: float | None
    violations: list[dict[str, str]]
    distances: dict[str, float]
    baseline: dict[str, Any]
    current: dict[str, Any]


def _file_name(feature: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", feature) + ".png"


def _numerical(statistics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        feature["name"]: feature["numerical_statistics"]
        for feature in statistics["features"]
        if "numerical_statistics" in feature
    }


def plot(
    feature: str, baseline: dict[str, Any], current: dict[str, Any], path: Path, *, score: float
) -> None:
    """Baseline vs captured distribution of one numerical feature, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    from matplotlib import pyplot

    left, right = distance.sketch_values(baseline), distance.sketch_values(current)
    low = float(min(left.min(), right.min()))
    high = float(max(left.max(), right.max()))
    edges = np.linspace(low, high if high > low else low + 1.0, BINS + 1).tolist()
    figure, axes = pyplot.subplots(figsize=(6.4, 3.6), dpi=100)
    try:
        axes.hist(left, bins=edges, density=True, alpha=0.55, label="baseline (training data)")
        axes.hist(right, bins=edges, density=True, alpha=0.55, label="captured requests")
        axes.axvline(float(baseline["mean"]), color="C0", linestyle="--", linewidth=1)
        axes.axvline(float(current["mean"]), color="C1", linestyle="--", linewidth=1)
        axes.set_title(f"{feature}: drift distance {score:.3f}")
        axes.set_xlabel(feature)
        axes.set_ylabel("density")
        axes.legend(loc="upper right", fontsize="small")
        figure.tight_layout()
        figure.savefig(path, metadata={"Software": None})
    finally:
        pyplot.close(figure)


def render(run: Run, folder: Path) -> Path:
    """Write report.md and the pictures into `folder`; the report's path."""
    drifted = sorted(
        {v["feature_name"] for v in run.violations if v["constraint_check_type"] == DRIFT_CHECK}
    )
    base, now = _numerical(run.baseline), _numerical(run.current)
    pictures: dict[str, str] = {}
    for feature in drifted:
        if feature in base and feature in now:
            name = _file_name(feature)
            plot(feature, base[feature], now[feature], folder / name, score=run.distances[feature])
            pictures[feature] = name
    path = folder / "report.md"
    path.write_text(markdown(run, pictures))
    return path


def markdown(run: Run, pictures: dict[str, str]) -> str:
    verdict = f"**{len(run.violations)} violation(s)**" if run.violations else "**no violations**"
    lines = [
        f"# Data quality: {run.title}",
        "",
        f"{verdict} in {run.rows} rows of {run.records} captured requests "
        f"({run.window[0]} to {run.window[1]}), checked against the baseline built at synth"
        + (f"; drift threshold {run.threshold:g}." if run.threshold is not None else "."),
        "",
    ]
    if run.violations:
        lines += ["| feature | check | description |", "|---|---|---|"]
        lines += [
            f"| `{v['feature_name']}` | {v['constraint_check_type']} | {v['description']} |"
            for v in run.violations
        ]
        lines.append("")
    if run.distances:
        lines += ["| feature | drift distance |", "|---|---|"]
        lines += [f"| `{name}` | {value:.4f} |" for name, value in sorted(run.distances.items())]
        lines.append("")
    for feature, name in pictures.items():
        lines += [f"## `{feature}`", "", f"![{feature}: baseline vs captured]({name})", ""]
    lines += [
        "Files beside this report: `constraint_violations.json` (Model Monitor's format), "
        "`statistics.json` (the captured data's statistics), and the deployed baseline as "
        "`baseline_statistics.json` and `baseline_constraints.json`.",
        "",
    ]
    return "\n".join(lines)
