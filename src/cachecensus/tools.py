"""Every tool cachecensus knows, in one registry that every consumer reads.

Adding a tool is one :class:`Tool` line in :data:`REGISTRY`, one format class (a
:class:`~cachecensus.caches.base.CacheFormat` subclass whose instance the module
``cachecensus.caches.<format>`` exposes as ``FORMAT``; a tool writing another's format,
as pipenv writes pip's, names that one) and one resolver (a function of
:class:`~cachecensus.resolve.ToolResolver`'s shape in :mod:`cachecensus.resolve`). The
CLI's ``--tool`` choices, the census, the busy-cache check (installer names), the process
variables worth a view, the environment kinds and the formats are all read from here
(``tests/test_tools.py`` checks that each covers every tool).
"""

from __future__ import annotations

from dataclasses import dataclass

from cachecensus.models import EnvKind
from cachecensus.resolve import (
    ToolResolver,
    resolve_conda_caches,
    resolve_pdm_caches,
    resolve_pipenv_caches,
    resolve_poetry_caches,
    resolve_uv_caches,
)


@dataclass(frozen=True)
class Tool:
    """One tool: where its cache format and resolver are, and how to recognise it.

    ``format``: the module under :mod:`cachecensus.caches` whose ``FORMAT`` reads its
    cache. ``resolver``: where it puts its caches for a user (None for pip, resolved per
    environment and per view by :mod:`cachecensus.resolve.pip`). ``installers``: regular
    expressions (full match) for the command names that run it (the busy-cache check).
    ``variables``: regular expressions for the variables that can move its cache or config
    (a process with other values is another view of its user). ``no_cache_options``: the
    options with which it uses no cache. ``env_kinds``: the environments it makes (the
    census resolves its caches for them too). ``needs_variables``: its own caches (outside
    any environment) are resolved only when one of these is set (conda's installation is
    known only from them).
    """

    name: str
    format: str
    resolver: ToolResolver | None
    installers: tuple[str, ...]
    variables: tuple[str, ...]
    no_cache_options: tuple[str, ...] = ()
    env_kinds: tuple[EnvKind, ...] = ()
    needs_variables: tuple[str, ...] = ()


#: Every tool, in the order audits list them.
REGISTRY: tuple[Tool, ...] = (
    Tool("pip", "pip", None, (r"pip[0-9.]*",), (r"PIP_\w+",), ("--no-cache-dir",)),
    Tool(
        "uv",
        "uv",
        resolve_uv_caches,
        ("uvx?",),
        (r"UV_\w+",),
        ("--no-cache", "-n"),
        env_kinds=(EnvKind.UV_TOOL, EnvKind.UV_MANAGED),
    ),
    Tool(
        "poetry",
        "poetry",
        resolve_poetry_caches,
        ("poetry",),
        (r"POETRY_\w+",),
        env_kinds=(EnvKind.POETRY,),
    ),
    Tool("pdm", "pdm", resolve_pdm_caches, ("pdm",), (r"PDM_\w+",)),
    Tool(
        "pipenv",
        "pip",
        resolve_pipenv_caches,
        ("pipenv",),
        (r"PIPENV_\w+",),
        env_kinds=(EnvKind.PIPENV,),
    ),
    Tool(
        "conda",
        "conda",
        resolve_conda_caches,
        ("conda", "mamba", "micromamba"),
        (r"(CONDA|MAMBA)_\w+", "CONDARC", "MAMBARC", "_CONDA_ROOT", "_CONDA_EXE"),
        env_kinds=(EnvKind.CONDA,),
        needs_variables=("CONDA_EXE", "MAMBA_ROOT_PREFIX"),
    ),
)


def names() -> tuple[str, ...]:
    """Every tool's name, in registry order."""
    return tuple(t.name for t in REGISTRY)


def tool(name: str) -> Tool:
    """The tool called ``name``; KeyError for an unknown one."""
    for known in REGISTRY:
        if known.name == name:
            return known
    raise KeyError(name)


def with_own_format() -> tuple[str, ...]:
    """Every tool with a format of its own (not pipenv: it writes pip's), in order."""
    return tuple(t.name for t in REGISTRY if t.format == t.name)


def of_kind(kind: EnvKind) -> str | None:
    """The tool that makes environments of ``kind`` (besides their pip), if any."""
    return next((t.name for t in REGISTRY if kind in t.env_kinds), None)
