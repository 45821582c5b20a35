"""Which policy rules a handler checks: the rule names it (or a service function it hands
its request context to) passes to authorize/enforce/_subject/authorized, read from source."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from types import ModuleType
from typing import Any

#: helper name -> index of its rule-name argument
RULE_ARG = {"authorize": 1, "enforce": 1, "_subject": 3, "authorized": 2, "_authorize_on": 2}
ACTORS = ("user", "group")


def rule_names(arg: ast.expr) -> set[str]:
    """A rule-name expression's names: a literal, or an f-string over the actor."""
    if isinstance(arg, ast.Constant):
        return {str(arg.value)}
    if isinstance(arg, ast.JoinedStr):
        template = "".join(
            str(v.value) if isinstance(v, ast.Constant) else "{}" for v in arg.values
        )
        return {template.format(*[a] * template.count("{}")) for a in ACTORS}
    return set()  # a variable: the caller's literal is found where it is passed


def _callee(func: Callable[..., Any], node: ast.expr) -> Callable[..., Any] | None:
    scope: dict[str, Any] = getattr(func, "__globals__", {})
    if isinstance(node, ast.Name):
        found = scope.get(node.id)
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        owner = scope.get(node.value.id)
        found = getattr(owner, node.attr, None) if isinstance(owner, ModuleType) else None
    else:
        found = None
    return found if inspect.isfunction(found) else None


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""


def checked_rules(func: Callable[..., Any], depth: int = 3) -> set[str]:
    found: set[str] = set()
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in RULE_ARG and len(node.args) > RULE_ARG[name]:
            found |= rule_names(node.args[RULE_ARG[name]])
            continue
        passes_ctx = any(isinstance(a, ast.Name) and a.id == "ctx" for a in node.args)
        callee = _callee(func, node.func) if passes_ctx and depth else None
        if callee is not None:
            found |= checked_rules(callee, depth - 1)
    return found
