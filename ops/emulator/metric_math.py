"""CloudWatch metric math, the part alarms use: arithmetic, comparisons and IF over time series.

Follows "Using math expressions with CloudWatch metrics"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
operators `+ - * / ^`, comparisons `== != <= < >= >` (1 for true, 0 for false), `AND`/`&&`,
`OR`/`||`, `NOT`, and the functions `IF(condition, a, b)` and `ABS`.
An operation between two time series is computed per timestamp.

What the page leaves open, and the choices made here:

- Two series with different timestamps: the result has the timestamps present in both.
- Division by zero gives no data point for that timestamp (the expression the stacks use guards
  its division with IF, as the page recommends).
- Any other function (for example FILL, METRICS(), SEARCH, ANOMALY_DETECTION_BAND) is refused with
  `MathError`; the evaluator then leaves the alarm's state as it is and says why in the log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

Series = dict[datetime, float]
Value = Series | float

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/^<>(),!]))"
)


class MathError(ValueError):
    pass


@dataclass(frozen=True)
class Node:
    kind: str  # "number", "id", "call", "unary", "binary"
    text: str
    children: tuple[Node, ...] = ()


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    while position < len(expression):
        if expression[position:].strip() == "":
            break
        match = _TOKEN.match(expression, position)
        if match is None:
            raise MathError(f"cannot read {expression[position:]!r} in {expression!r}")
        tokens.append(match.group(match.lastgroup or 0))
        position = match.end()
    return tokens


# Binary operators by precedence, loosest first.
_LEVELS: tuple[tuple[str, ...], ...] = (
    ("OR", "||"),
    ("AND", "&&"),
    ("==", "!=", "<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "/"),
    ("^",),
)


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokens(expression)
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token.upper() != expected):
            raise MathError(f"expected {expected or 'more'} in {self.expression!r}")
        self.position += 1
        return token

    def parse(self) -> Node:
        node = self.binary(0)
        if self.peek() is not None:
            raise MathError(f"unexpected {self.peek()!r} in {self.expression!r}")
        return node

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while (token := self.peek()) is not None and token.upper() in _LEVELS[level]:
            operator = self.take().upper()
            # `^` binds right to left; the others left to right.
            right = self.binary(level if operator == "^" else level + 1)
            node = Node("binary", operator, (node, right))
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token is not None and token.upper() in ("-", "+", "!", "NOT"):
            self.take()
            return Node("unary", "!" if token.upper() == "NOT" else token, (self.unary(),))
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token == "(":  # noqa: S105 - a parenthesis, not a password
            node = self.binary(0)
            self.take(")")
            return node
        if token[0].isdigit() or token[0] == ".":
            return Node("number", token)
        if not (token[0].isalpha() or token[0] == "_"):
            raise MathError(f"unexpected {token!r} in {self.expression!r}")
        if self.peek() != "(":
            return Node("id", token)
        self.take("(")
        arguments = [self.binary(0)]
        while self.peek() == ",":
            self.take(",")
            arguments.append(self.binary(0))
        self.take(")")
        return Node("call", token.upper(), tuple(arguments))


def parse(expression: str) -> Node:
    return _Parser(expression).parse()


def _combine(a: Value, b: Value, operation: Callable[[float, float], float | None]) -> Value:
    if isinstance(a, dict) and isinstance(b, dict):
        pairs = {t: (a[t], b[t]) for t in a.keys() & b.keys()}
    elif isinstance(a, dict):
        pairs = {t: (v, float(b)) for t, v in a.items()}  # type: ignore[arg-type]
    elif isinstance(b, dict):
        pairs = {t: (float(a), v) for t, v in b.items()}
    else:
        result = operation(a, b)
        if result is None:
            raise MathError("division by zero in a constant expression")
        return result
    combined = {t: operation(x, y) for t, (x, y) in pairs.items()}
    return {t: v for t, v in combined.items() if v is not None}


def _divide(x: float, y: float) -> float | None:
    return None if y == 0 else x / y


_BINARY: dict[str, Callable[[float, float], float | None]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": _divide,
    "^": lambda x, y: float(x**y),
    "==": lambda x, y: float(x == y),
    "!=": lambda x, y: float(x != y),
    "<": lambda x, y: float(x < y),
    "<=": lambda x, y: float(x <= y),
    ">": lambda x, y: float(x > y),
    ">=": lambda x, y: float(x >= y),
    "AND": lambda x, y: float(bool(x) and bool(y)),
    "&&": lambda x, y: float(bool(x) and bool(y)),
    "OR": lambda x, y: float(bool(x) or bool(y)),
    "||": lambda x, y: float(bool(x) or bool(y)),
}


_UNARY: dict[str, Callable[[float, float], float | None]] = {
    "-": lambda x, _: -x,
    "+": lambda x, _: x,
    "!": lambda x, _: float(not x),
}


def _if(condition: Value, then: Value, otherwise: Value) -> Value:
    if not isinstance(condition, dict):
        return then if condition else otherwise
    result: Series = {}
    for timestamp, flag in condition.items():
        chosen = then if flag else otherwise
        value = chosen.get(timestamp) if isinstance(chosen, dict) else chosen
        if value is not None:
            result[timestamp] = value
    return result


def evaluate(node: Node, series: Mapping[str, Value]) -> Value:
    """The value of `node` given the values of the ids it names."""
    if node.kind == "number":
        return float(node.text)
    if node.kind == "id":
        if node.text not in series:
            raise MathError(f"unknown id {node.text!r}")
        return series[node.text]
    values = [evaluate(child, series) for child in node.children]
    if node.kind == "unary":
        return _combine(values[0], 0.0, _UNARY[node.text])
    if node.kind == "binary":
        return _combine(values[0], values[1], _BINARY[node.text])
    if node.text == "IF" and len(values) == 3:
        return _if(values[0], values[1], values[2])
    if node.text == "ABS" and len(values) == 1:
        return _combine(values[0], 0.0, lambda x, _: abs(x))
    raise MathError(f"{node.text}() with {len(values)} argument(s) is not supported here")
