"""Malformed configs, generated: every one ends in one ConfigError naming the file and the field.

Hypothesis breaks a valid environment file and a valid model file in seven ways (wrong types,
out-of-range values, unknown keys, YAML syntax errors, missing files, duplicate names and keys,
unicode where only ASCII is meaningful) and loads the project each time. A pass means: no other
exception escaped (no traceback), nothing loaded (no silent default), and a problem names the
broken file and the field (or, for YAML syntax, the line).

Each campaign is its own test, so one failing does not hide the others; each checks it tried as
many configs as `TRIES` says, and `TRIES` adds up to more than a thousand. The module prints how
many it tried.

Those are the full counts, run by `make test` and CI (Hypothesis' default profile, 100 examples).
`make check`, the inner loop, loads the "dev" profile (tests/unit/conftest.py) and runs the share
of every count that profile's `max_examples` is of 100: the same campaigns, fewer examples each.
"""

from __future__ import annotations

import copy
import math
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configs.errors import ConfigError, Problem
from configs.loader import load_project

MODEL = "m"
TRIED: Counter[str] = Counter()
# Hypothesis' own default `max_examples`: a profile that sets another scales every count below
# and every campaign's examples by the same share (`share`).
FULL_EXAMPLES = 100
# How many malformed configs of each kind the campaigns try at least, in full: every example
# drawn, except where a draw may turn out valid and is skipped (an unknown key that is a real one)
# or one campaign splits its draws between two kinds (about 60 duplicate names, 40 duplicate keys).
TRIES = {
    "wrong type": 300,
    "out of range": 250,
    "unknown key": 190,
    "YAML syntax": 96,
    "duplicate name": 30,
    "duplicate key": 30,
    "missing file": 4,
    "unicode": 120,
}

ENV_BASE: dict[str, Any] = {
    "prefix": "Staging",
    "account": "111111111111",
    "region": "eu-west-1",
    "tags": {"environment": "staging"},
    "paging": {"emails": ["oncall@example.com"], "https": []},
    "termination_protection": False,
    "log_retention_days": 30,
    "defaults": {"serving": {"instance_type": "ml.m5.large", "instance_count": 1}},
}
MODEL_BASE: dict[str, Any] = {
    "description": "a model",
    "framework": {"pytorch_version": "2.6", "python_version": "py312"},
    "artifact": {
        "weights": ["model.pt"],
        "entry_point": "inference.py",
        "code": ["*.py"],
        "shared": ["kit"],
    },
    "serving": {"instance_type": "ml.m5.large", "instance_count": 1},
    "rollout": {"strategy": "canary", "canary": {"size": "10%", "bake_seconds": 600}},
    "alarms": {"error_rate_5xx": {"threshold": 1.0}},
    "autoscaling": {"enabled": True, "min_instances": 1, "max_instances": 4},
    "data_capture": {"enabled": True, "sampling_percent": 10},
    "environments": {"prod": {"serving": {"instance_count": 2}}},
}

# --- values of the wrong type, by what the field expects ------------------------------------

not_a_string = st.one_of(
    st.integers(), st.floats(allow_nan=False), st.booleans(), st.lists(st.integers(), max_size=2)
)
not_an_int = st.one_of(
    st.text(max_size=5),
    st.booleans(),
    st.floats(allow_nan=False).filter(lambda f: not float(f).is_integer()),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
not_a_bool = st.one_of(
    st.sampled_from(["true", "false", "yes", "no", "on", "1"]),
    st.integers(),
    st.lists(st.booleans(), max_size=2),
)
not_a_number = st.one_of(
    st.text(min_size=1, max_size=5).filter(lambda t: not _is_number(t)),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
not_a_list = st.one_of(st.integers(), st.booleans(), st.dictionaries(st.text(), st.text()))
not_a_mapping = st.one_of(
    st.integers(), st.text(max_size=5), st.lists(st.integers(), min_size=1, max_size=2)
)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# (file, path, bad values)
WRONG_TYPES: list[tuple[str, tuple[str, ...], st.SearchStrategy[Any]]] = [
    ("env", ("prefix",), not_a_string),
    ("env", ("account",), st.one_of(st.integers(), st.booleans(), st.lists(st.text()))),
    ("env", ("region",), not_a_string),
    ("env", ("termination_protection",), not_a_bool),
    ("env", ("log_retention_days",), not_an_int),
    ("env", ("tags",), st.one_of(st.integers(), st.lists(st.text(), min_size=1))),
    ("env", ("paging",), not_a_mapping),
    ("env", ("paging", "emails"), not_a_list),
    ("env", ("defaults",), not_a_mapping),
    ("env", ("defaults", "serving", "instance_count"), not_an_int),
    ("model", ("description",), not_a_string),
    ("model", ("framework", "pytorch_version"), not_a_string),
    ("model", ("artifact",), not_a_mapping),
    ("model", ("artifact", "weights"), not_a_list),
    ("model", ("artifact", "entry_point"), not_a_string),
    ("model", ("serving", "instance_type"), not_a_string),
    ("model", ("serving", "instance_count"), not_an_int),
    ("model", ("serving", "network_isolation"), not_a_bool),
    ("model", ("serving", "environment"), not_a_mapping),
    ("model", ("rollout", "strategy"), not_a_string),
    ("model", ("rollout", "canary", "bake_seconds"), not_an_int),
    ("model", ("alarms", "error_rate_5xx", "threshold"), not_a_number),
    ("model", ("alarms", "error_rate_5xx", "rollback"), not_a_bool),
    ("model", ("autoscaling", "enabled"), not_a_bool),
    ("model", ("data_capture", "sampling_percent"), not_an_int),
    ("model", ("environments", "prod", "serving", "instance_count"), not_an_int),
    ("model", ("environments",), not_a_mapping),
]


def outside(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers().filter(lambda n: not low <= n <= high)


over_100 = st.floats(min_value=100.001, allow_infinity=False)
not_whole_minutes = st.integers(1, 86400).filter(lambda n: n % 60 != 0)

# Values of the right type outside what SageMaker, CloudWatch or the naming rules allow.
OUT_OF_RANGE: list[tuple[str, tuple[str, ...], st.SearchStrategy[Any]]] = [
    ("env", ("account",), st.from_regex(r"\A[0-9]{1,11}\Z|\A[0-9]{13,16}\Z")),
    ("env", ("prefix",), st.from_regex(r"\A[a-z0-9][A-Za-z0-9]{0,10}\Z")),
    ("env", ("region",), st.sampled_from(["EU-WEST-1", "euwest1", "eu-west", "eu_west_1"])),
    (
        "env",
        ("log_retention_days",),
        st.integers().filter(lambda n: n not in {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365}),
    ),
    ("env", ("paging", "emails"), st.lists(st.from_regex(r"\A[a-z]{1,8}\Z"), min_size=1)),
    ("env", ("paging", "https"), st.lists(st.from_regex(r"\Ahttp://[a-z]{1,8}\Z"), min_size=1)),
    ("env", ("tags",), st.just({"aws:owner": "x"})),
    ("env", ("defaults", "serving", "instance_count"), outside(1, 100)),
    ("model", ("serving", "instance_count"), outside(1, 100)),
    ("model", ("serving", "instance_type"), st.sampled_from(["m5.large", "ml.m5", "ML.M5.LARGE"])),
    ("model", ("rollout", "strategy"), st.sampled_from(["blue", "Canary", "bluegreen", ""])),
    ("model", ("rollout", "canary", "size"), st.sampled_from(["0%", "51%", "100%", "10", 0, -1])),
    ("model", ("rollout", "canary", "bake_seconds"), outside(0, 3600)),
    ("model", ("rollout", "max_execution_seconds"), outside(600, 28800)),
    ("model", ("alarms", "error_rate_5xx", "threshold"), st.floats(max_value=0) | over_100),
    ("model", ("alarms", "error_rate_5xx", "period_seconds"), not_whole_minutes),
    ("model", ("autoscaling", "min_instances"), st.integers(5, 100)),
    ("model", ("data_capture", "sampling_percent"), outside(0, 100)),
    ("model", ("artifact", "weights"), st.sampled_from([[], ["/etc/passwd"], ["../x.pt"]])),
    ("model", ("artifact", "entry_point"), st.sampled_from(["code/inference.py", "inference.sh"])),
    ("model", ("serving", "environment"), st.just({"SAGEMAKER_PROGRAM": "x.py"})),
]  # fmt: skip

KNOWN_SECTIONS = [(), ("serving",), ("rollout",), ("alarms",), ("artifact",), ("autoscaling",)]
ENV_SECTIONS = [(), ("paging",), ("defaults",), ("defaults", "serving")]

# Broken YAML: each turns the valid text into something no YAML parser accepts.
SYNTAX_BREAKS: list[Callable[[str], str]] = [
    lambda t: t + "\nserving: [unclosed\n",
    lambda t: t + '\ndescription: "unterminated\n',
    lambda t: t.replace("\n", "\n\t", 1),
    lambda t: "key: value\n  nested: wrongly\n" + t,
    lambda t: t + "\n: no key\n  indented: wrong\n",
    lambda t: t + "\nfoo: {a: 1\n",
    lambda t: t + "\n*undefined_alias\n",
    lambda t: t + "\n- a list item after a mapping\n",
]

unicode_text = st.text(
    alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x2FFF, categories=["L", "N"]),
    min_size=1,
    max_size=8,
)
UNICODE: list[tuple[str, tuple[str, ...], st.SearchStrategy[Any]]] = [
    ("model", ("name",), unicode_text.map(lambda t: "m" + t)),
    ("env", ("prefix",), unicode_text.map(lambda t: "S" + t)),
    # Arabic-Indic and full-width digits: Unicode digits, not account ids
    ("env", ("account",), st.sampled_from(["\u0661" * 12, "\uff11" * 12])),
    ("env", ("region",), unicode_text.map(lambda t: f"eu-{t}-1")),
    (
        "model",
        ("framework", "pytorch_version"),
        st.sampled_from(["\u0662.\u0666", "\uff12.\uff16"]),
    ),
    ("model", ("serving", "instance_type"), unicode_text.map(lambda t: f"ml.{t}.large")),
]


# --- the project on disk --------------------------------------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Path]:
    """The project the campaigns break, one file at a time; afterwards, how many they tried."""
    TRIED.clear()
    yield tmp_path_factory.mktemp("fuzz")
    detail = ", ".join(f"{kind} {count}" for kind, count in sorted(TRIED.items()))
    # What capsys.disabled() does, for a module's fixture: the line shows without -s.
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    assert capture is not None
    with capture.global_and_fixture_disabled():
        profile = f"Hypothesis profile {settings.get_current_profile_name()}"
        print(f"\nmalformed configs tried: {TRIED.total()} ({detail}; {profile})")


# The valid project as files (path below the root: bytes), restored before each example. The
# YAML is dumped once, here: dumping the same mappings again for each of a thousand examples
# cost most of the campaigns' time.
BASE_FILES: dict[str, bytes] = {
    "configs/staging.yaml": yaml.safe_dump(ENV_BASE).encode(),
    "configs/prod.yaml": yaml.safe_dump(
        {**ENV_BASE, "prefix": "Prod", "termination_protection": True}
    ).encode(),
    f"models/{MODEL}/model.pt": b"\0" * 16,
    f"models/{MODEL}/inference.py": b"def model_fn(d):\n    return None\n",
    f"models/{MODEL}/config.yaml": yaml.safe_dump(MODEL_BASE).encode(),
    "models/kit/__init__.py": b"",
}
BASE_FOLDERS = {folder for name in BASE_FILES for folder in map(str, Path(name).parents)} - {"."}


def reset(root: Path) -> tuple[Path, Path]:
    """A valid project: two environments, one model, one shared folder. What the last example
    added (a folder, a file) is removed and what it changed or removed is written back, so the
    tree is exactly `BASE_FILES` again without being deleted and rebuilt for every example."""
    for path in sorted(root.rglob("*"), reverse=True):  # a folder's contents before the folder
        name = path.relative_to(root).as_posix()
        folder = path.is_dir() and not path.is_symlink()
        if folder and name not in BASE_FOLDERS:
            path.rmdir()
        elif not folder and name not in BASE_FILES:
            path.unlink()
    for name, content in BASE_FILES.items():
        path = root / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        elif path.read_bytes() != content:
            path.write_bytes(content)
    return root / "configs" / "staging.yaml", root / "models" / MODEL / "config.yaml"


def put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    here = data
    for part in path[:-1]:
        if not isinstance(here.get(part), dict):
            here[part] = {}
        here = here[part]
    here[path[-1]] = value
    return data


def expect_error(root: Path, kind: str) -> ConfigError:
    """Load; the only acceptable outcome is a ConfigError (anything else is a traceback)."""
    TRIED[kind] += 1
    try:
        load_project(root)
    except ConfigError as error:
        assert error.problems, "a ConfigError lists its problems"
        return error
    raise AssertionError(f"{kind}: the broken config loaded (a silent default)")


def names(error: ConfigError, file: Path, field: str) -> Problem:
    """The problem about `file` whose field path mentions `field`; its report names both."""
    for problem in error.problems:
        if problem.file == file and field in problem.where:
            rendered = problem.render(error.root)
            assert str(file.relative_to(error.root)) in rendered  # type: ignore[arg-type]
            assert problem.where in rendered
            return problem
    raise AssertionError(f"no problem names {file.name} / {field}: {error}")


def write_mutation(root: Path, target: str, path: tuple[str, ...], value: Any) -> Path:
    env, model = reset(root)
    file, base = (env, ENV_BASE) if target == "env" else (model, MODEL_BASE)
    file.write_text(yaml.safe_dump(put(base, path, value), allow_unicode=True))
    return file


def tried(*kinds: str) -> None:
    """The campaign that just ran tried as many configs of its kinds as TRIES says."""
    for kind in kinds:
        expected = share(TRIES[kind])
        assert TRIED[kind] >= expected, f"{kind}: {TRIED[kind]} tried, {expected} expected"


def field_of(path: tuple[str, ...]) -> str:
    """What a problem's field path must contain: the first two parts (deeper parts may be
    reported on the section, e.g. a combination check or a union's member)."""
    return ".".join(path[:2])


# --- the categories -------------------------------------------------------------------------

BASE_SETTINGS = settings(
    deadline=None,
    derandomize=True,  # the same examples on every machine and every run
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def share(count: int) -> int:
    """`count` under the active profile: all of it by default, a share of it in "dev"."""
    return max(1, math.ceil(count * settings().max_examples / FULL_EXAMPLES))


def examples(count: int) -> settings:
    return settings(BASE_SETTINGS, max_examples=share(count))


def test_wrong_types_name_the_field(root: Path) -> None:
    @examples(300)
    @given(case=st.sampled_from(WRONG_TYPES).flatmap(lambda c: st.tuples(st.just(c), c[2])))
    def check(case: Any) -> None:
        (target, path, _), value = case
        file = write_mutation(root, target, path, value)
        names(expect_error(root, "wrong type"), file, field_of(path))

    check()
    tried("wrong type")


def test_out_of_range_values_name_the_field(root: Path) -> None:
    @examples(250)
    @given(case=st.sampled_from(OUT_OF_RANGE).flatmap(lambda c: st.tuples(st.just(c), c[2])))
    def check(case: Any) -> None:
        (target, path, _), value = case
        file = write_mutation(root, target, path, value)
        field = "autoscaling" if path[0] == "autoscaling" else field_of(path)
        names(expect_error(root, "out of range"), file, field)

    check()
    tried("out of range")


def test_unknown_keys_are_named(root: Path) -> None:
    keys = st.text(min_size=1, max_size=12).filter(lambda k: k.strip() == k and "." not in k)

    @examples(200)
    @given(
        target=st.sampled_from(["env", "model"]),
        section=st.integers(0, 100),
        key=keys,
        value=st.one_of(st.integers(), st.text(max_size=4), st.booleans()),
    )
    def check(target: str, section: int, key: str, value: Any) -> None:
        sections = ENV_SECTIONS if target == "env" else KNOWN_SECTIONS
        where = sections[section % len(sections)]
        base = ENV_BASE if target == "env" else MODEL_BASE
        here = base
        for part in where:
            here = here.get(part, {})
        if key in here or key in _allowed(target, where):
            return  # a real key, not an unknown one
        file = write_mutation(root, target, (*where, key), value)
        problem = names(expect_error(root, "unknown key"), file, key)
        assert problem.message == "unknown key"

    check()
    tried("unknown key")


def _allowed(target: str, where: tuple[str, ...]) -> set[str]:
    from configs.environment import Environment
    from configs.errors import allowed_keys
    from configs.model import ModelFile

    return set(allowed_keys(Environment if target == "env" else ModelFile, list(where)))


def test_yaml_syntax_errors_give_the_line(root: Path) -> None:
    @examples(150)
    @given(
        target=st.sampled_from(["env", "model"]),
        index=st.integers(0, len(SYNTAX_BREAKS) - 1),
        padding=st.integers(0, 5),
    )
    def check(target: str, index: int, padding: int) -> None:
        env, model = reset(root)
        file = env if target == "env" else model
        file.write_text("\n" * padding + SYNTAX_BREAKS[index](file.read_text()))
        error = expect_error(root, "YAML syntax")
        (problem,) = [p for p in error.problems if p.file == file]
        assert "not valid YAML" in problem.message and problem.line is not None

    check()
    tried("YAML syntax")


def test_duplicate_names_and_keys_are_named(root: Path) -> None:
    @examples(100)
    @given(
        kind=st.sampled_from(["model name", "yaml key"]),
        other=st.from_regex(r"\A[a-z][a-z0-9]{0,8}\Z"),
        section=st.sampled_from(["serving", "rollout", "artifact"]),
    )
    def check(kind: str, other: str, section: str) -> None:
        _, model = reset(root)
        if kind == "model name":
            if other == MODEL:
                return
            shutil.copytree(model.parent, model.parent.parent / other)
            for folder in (model.parent, model.parent.parent / other):
                data = {**MODEL_BASE, "name": "shared-name"}
                (folder / "config.yaml").write_text(yaml.safe_dump(data))
            error = expect_error(root, "duplicate name")
            assert any(p.where == "name" and "also used by" in p.message for p in error.problems)
            return
        text = model.read_text()
        block = yaml.safe_dump({section: MODEL_BASE[section]})
        model.write_text(text + block)
        names(expect_error(root, "duplicate key"), model, section)

    check()
    tried("duplicate name", "duplicate key")


def test_missing_files_are_named(root: Path) -> None:
    @examples(60)
    @given(what=st.sampled_from(["weights", "entry point", "shared folder", "environments"]))
    def check(what: str) -> None:
        _, model = reset(root)
        if what == "weights":
            (model.parent / "model.pt").unlink()
        elif what == "entry point":
            (model.parent / "inference.py").unlink()
        elif what == "shared folder":
            shutil.rmtree(root / "models" / "kit")
        else:
            for path in (root / "configs").glob("*.yaml"):
                path.unlink()
        error = expect_error(root, "missing file")
        if what == "environments":
            (problem,) = error.problems
            assert problem.file == root / "configs" and "no environment files" in problem.message
        else:
            problem = names(error, model, "artifact")
            assert "does not exist" in problem.message

    check()
    tried("missing file")


def test_unicode_where_ascii_is_meant_names_the_field(root: Path) -> None:
    @examples(120)
    @given(case=st.sampled_from(UNICODE).flatmap(lambda c: st.tuples(st.just(c), c[2])))
    def check(case: Any) -> None:
        (target, path, _), value = case
        file = write_mutation(root, target, path, value)
        names(expect_error(root, "unicode"), file, field_of(path))

    check()
    tried("unicode")


def test_the_campaigns_together_try_a_thousand_configs_of_eight_kinds() -> None:
    assert sum(TRIES.values()) >= 1000
    assert len(TRIES) == 8


def test_the_base_configs_are_valid(root: Path) -> None:
    """Without this, every 'malformed' config above could be failing for the same reason."""
    reset(root)
    project = load_project(root)
    assert set(project.models) == {MODEL} and set(project.environments) == {"prod", "staging"}
