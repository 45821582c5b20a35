"""The operators of extra spec values (``<in>``, ``s==``, ``>=``...), as upstream reads them."""

from __future__ import annotations

import operator
from collections.abc import Callable

_STRING_OPS: dict[str, Callable[[str, str], bool]] = {
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
    "<in>": lambda actual, wanted: wanted in actual,
}
_NUMBER_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
}


def match(actual: object, requirement: str) -> bool:
    """Whether a host value satisfies an extra spec requirement such as ``>= 4``."""
    words = requirement.split()
    if not words:
        return str(actual) == requirement
    op, args = words[0], words[1:]
    text = str(actual)
    if op == "<or>":
        return text in [w for w in args if w != "<or>"]
    if op == "<all-in>":
        values = actual if isinstance(actual, list | tuple | set) else text.split(",")
        return all(w in values for w in args)
    if op in _STRING_OPS and args:
        return _STRING_OPS[op](text, " ".join(args))
    if op in _NUMBER_OPS and args:
        try:
            return _NUMBER_OPS[op](float(text), float(args[0]))
        except ValueError:
            return False
    return text == requirement
