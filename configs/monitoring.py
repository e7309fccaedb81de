"""Drift monitoring: Model Monitor's data-quality checks of what the endpoint captures.

`monitoring: {data_quality: {enabled: true, data: data/iris.csv, ...}}` in a model's config (or
an environment's defaults or override) gives the endpoint a baseline built at synth from `data`
(statistics.json and constraints.json, see `bundler.baseline`), an
`AWS::SageMaker::DataQualityJobDefinition` and an `AWS::SageMaker::MonitoringSchedule` that
compares each hour's (or day's) captured requests with it, and alarms that page on drift.

The data file is checked here, once, when the config loads: it exists in the model folder, has a
header row naming its columns and at least one data row, and names every listed feature. The
statistics themselves are computed at synth. Rules that need other sections (data capture on
and capturing input) live in `configs.rules`.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictStr, ValidationInfo, field_validator, model_validator

from configs.base import Finding, Items, RelPath, Strict, fail, relative_path
from configs.serving import DataCapture

# Model Monitor's schedules run hourly or daily: cron(0 * ? * * *) / cron(0 0 ? * * *)
# (Model Monitor guide, "Schedule monitoring jobs"; MonitoringScheduleConfig.ScheduleConfig).
SCHEDULES = {"hourly": "cron(0 * ? * * *)", "daily": "cron(0 0 ? * * *)"}
# A feature becomes part of CloudWatch metric names (feature_baseline_drift_<feature>), which
# allow at most 255 characters; keep names plain.
FEATURE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$"


class DataQuality(Strict):
    """Model Monitor's data-quality schedule on the endpoint, against a baseline built at synth."""

    enabled: StrictBool = Field(
        False,
        description="true: build a drift baseline from 'data' and check captured requests "
        "against it on 'schedule'; needs data_capture enabled with 'input' captured.",
    )
    schedule: Literal["hourly", "daily"] = Field(
        "hourly", description="How often captured data is checked: hourly or daily."
    )
    drift_threshold: Annotated[float, Field(strict=False, gt=0, le=1)] = Field(
        0.1,
        description="Largest distance between a feature's baseline and captured distributions "
        "(0-1, the Robust L-infinity distance of Model Monitor's constraints) before it is "
        "a violation and pages.",
    )
    data: RelPath | None = Field(
        None,
        description="CSV file (optionally .csv.gz) in the model folder with the training "
        "inputs, a header row naming each column, for example 'data/iris.csv'. Required when "
        "enabled.",
    )
    features: Items[Annotated[StrictStr, Field(pattern=FEATURE_PATTERN)]] = Field(
        (),
        description="Columns of 'data' that are the endpoint's input features, in the order a "
        "request lists them (the label column is not one); unset: every column.",
    )
    instance_type: Annotated[StrictStr, Field(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")] = Field(
        "ml.m5.large", description="Instance type of each monitoring job."
    )

    @field_validator("data", mode="after")
    @classmethod
    def _inside_folder(cls, value: str | None) -> str | None:
        return None if value is None else relative_path(value)

    @field_validator("features", mode="after")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(f"{twice} listed twice; list each feature once")
        return value

    @model_validator(mode="after")
    def _data_reads(self, info: ValidationInfo) -> DataQuality:
        folder = (info.context or {}).get("model_dir")
        if folder is None or self.data is None:
            return self
        path = folder / self.data
        if not path.is_file():
            fail(
                ("data",),
                f"{self.data!r} does not exist in {folder.name}/; add the training data as a "
                "CSV file with a header row, or fix the name",
                value=self.data,
            )
        problem = header_problem(path, self.features)
        if problem:
            fail(("data",), f"{self.data}: {problem}", value=self.data)
        return self

    @property
    def cron(self) -> str:
        return SCHEDULES[self.schedule]


class Monitoring(Strict):
    """What watches the live endpoint beyond its alarms."""

    data_quality: DataQuality = Field(
        default_factory=DataQuality,
        description="Model Monitor data quality: captured requests checked against a baseline "
        "of the training data (completeness, types, distribution drift).",
    )


def monitoring_findings(quality: DataQuality, capture: DataCapture) -> list[Finding]:
    """What a model with data-quality monitoring on lacks: its data, or captured requests.

    Model Monitor's data-quality job reads what data capture wrote (DataQualityJobInput.
    EndpointInput); with capture off, or capturing only responses, it has nothing to check.
    """
    if not quality.enabled:
        return []
    found = []
    if quality.data is None:
        message = (
            "the drift baseline is built from the training data; set data to a CSV file in "
            "the model folder with a header row, for example data: data/train.csv"
        )
        found.append(Finding(("monitoring", "data_quality", "data"), message, None))
    if not capture.enabled:
        message = (
            "data quality monitoring checks captured requests; turn on data_capture "
            "(enabled: true) for this model (and environment), or turn monitoring off"
        )
        found.append(Finding(("data_capture", "enabled"), message, False))
    elif "input" not in capture.capture:
        message = "data quality monitoring checks captured requests; add 'input' to capture"
        found.append(Finding(("data_capture", "capture"), message, list(capture.capture)))
    elif capture.sampling_percent == 0:
        message = "sampling_percent 0 captures nothing for monitoring to check; use 1-100"
        found.append(Finding(("data_capture", "sampling_percent"), message, 0))
    return found


def header_problem(path: Path, features: tuple[str, ...]) -> str | None:
    """What is wrong with the data file's shape, or None: header, rows, listed features."""
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as error:
        return f"cannot be read as a UTF-8 CSV file ({error})"
    rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    if not rows:
        return "is empty; it needs a header row naming the columns, then the training rows"
    header = rows[0]
    if any(not name.strip() for name in header) or len(set(header)) != len(header):
        return "the first row must name every column once (a header row)"
    if all(_is_number(name) for name in header):
        return "the first row is numbers, not column names; add a header row"
    if len(rows) < 2:
        return "has a header and no rows; add the training rows"
    unknown = [name for name in features if name not in header]
    if unknown:
        return f"no column {unknown} (the columns are {header}); fix 'features'"
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
