"""Drift check: what an endpoint captured, against the baseline built at synth, as Model Monitor.

`python -m ops drift --model iris [--env prod]` reads the requests the local emulator captured
for the model's endpoint (data capture's JSON Lines in the emulator's S3), computes their
statistics, compares them with the deployed baseline (statistics.json and constraints.json from
the cloud assembly), writes constraint_violations.json, publishes Model Monitor's data-quality
metrics into the emulator's CloudWatch (where the stack's drift alarms evaluate them) and
renders a report with a picture per drifted feature under .cache/drift/<stack>/.

The emulator is the one `make deploy-local KEEP=1` left running (or AWS_ENDPOINT_URL); the
assembly is what it deployed (.cache/deploy-local/cdk.out, or --assembly).

Exit codes: 0 no violations; 1 violations found; 2 cannot check (bad input, nothing captured,
monitoring or capture off, no emulator).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ops.emulator as emulator
from ops.deploy_local import DEFAULT_OUTDIR
from ops.drift import captured, check, target

ROOT = Path(__file__).resolve().parents[2]
DRIFT_DIR = ROOT / ".cache" / "drift"
DEFAULT_WINDOW = timedelta(hours=1)  # an hourly schedule's job reads the last hour


def emulator_url(state: Path) -> str:
    """The emulator to talk to: AWS_ENDPOINT_URL if set, else the running one's state file."""
    url = os.environ.get("AWS_ENDPOINT_URL")
    if url:
        return url
    found = emulator.status(state)
    if found is None:
        raise target.DriftInputError(
            "no emulator is running: start one and deploy with `make deploy-local KEEP=1` "
            "(or set AWS_ENDPOINT_URL to a running one)"
        )
    return found.url


def since_of(text: str | None, *, now: datetime) -> str:
    """`--since`: an ISO time, or a duration back from now (`90s`, `10m`, `2h`)."""
    value = (text or "").strip()
    if not value:
        start = now - DEFAULT_WINDOW
    elif value[-1] in "smh" and value[:-1].replace(".", "", 1).isdigit():
        unit = {"s": 1, "m": 60, "h": 3600}[value[-1]]
        start = now - timedelta(seconds=float(value[:-1]) * unit)
    else:
        try:
            start = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as error:
            raise target.DriftInputError(
                f"--since {value!r}: give a time (2024-05-01T12:00:00Z) or a duration (10m, 2h)"
            ) from error
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_model(
    *,
    model: str,
    environment: str,
    assembly: Path,
    url: str,
    since: str,
    root: Path = ROOT,
    out: Path = DRIFT_DIR,
) -> check.Outcome:
    """Resolve the deployed target and run one check (the drill calls this too).

    Raises:
        target.DriftInputError, check.NothingCaptured, captured.CaptureFormatError.
    """
    name = target.stack_name(root=root, model=model, environment=environment)
    client = emulator.clients(url)
    found = target.resolve(assembly=assembly, stack_name=name, client=client)
    return check.run(
        target=found,
        s3=client("s3"),
        cloudwatch=client("cloudwatch"),
        folder=out / name,
        since=since,
    )


def describe(outcome: check.Outcome) -> str:
    lines = [
        f"drift: {outcome.rows} rows from {outcome.records} captured requests; "
        f"{len(outcome.violations)} violation(s); {outcome.published} metric data points "
        "published"
    ]
    lines += [
        f"  - {v['feature_name']}: {v['constraint_check_type']}: {v['description']}"
        for v in outcome.violations
    ]
    lines.append(f"drift: report {outcome.report}")
    lines.append(f"drift: violations {outcome.folder / 'constraint_violations.json'}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="the model folder, e.g. iris")
    parser.add_argument("--env", default="prod", help="environment of the endpoint (prod)")
    parser.add_argument(
        "--since", help="check records from this time or duration back (default: the last hour)"
    )
    parser.add_argument(
        "--assembly", type=Path, default=DEFAULT_OUTDIR, help="the deployed cloud assembly"
    )
    parser.add_argument("--out", type=Path, default=DRIFT_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument(
        "--state", type=Path, default=emulator.DEFAULT_STATE, help=argparse.SUPPRESS
    )


def run(args: argparse.Namespace) -> int:
    try:
        target.stack_name(root=args.root.resolve(), model=args.model, environment=args.env)
        outcome = check_model(
            model=args.model,
            environment=args.env,
            assembly=args.assembly,
            url=emulator_url(args.state),
            since=since_of(args.since, now=datetime.now(UTC)),
            root=args.root.resolve(),
            out=args.out,
        )
    except (target.DriftInputError, check.NothingCaptured, captured.CaptureFormatError) as error:
        print(f"drift: {error}", file=sys.stderr)
        return 2
    print(describe(outcome))
    return 1 if outcome.violations else 0
