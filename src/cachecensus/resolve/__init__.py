"""Where each tool's cache is, with provenance: one resolver module per tool.

Every tool but pip (resolved per environment and per view by
:mod:`cachecensus.resolve.pip`) registers one function of :class:`ToolResolver`'s shape
in :mod:`cachecensus.tools`; those below adapt each tool's module (imported when first
called) to it. :func:`resolve_tool` calls the one of a tool by name.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Literal, Protocol

from cachecensus.host import Host
from cachecensus.models import Environment, Resolution, User


class ToolResolver(Protocol):
    """Every cache location a tool uses for ``user`` with the variables ``env``, run in
    ``project_dir`` (None: no project), for ``environment`` (one the tool made, or None
    for the user's own caches). conda may name several package dirs; the others one."""

    def __call__(
        self,
        host: Host,
        *,
        user: User,
        env: Mapping[str, str],
        project_dir: str | None = None,
        environment: Environment | None = None,
    ) -> tuple[Resolution, ...]: ...


def resolve_uv_caches(
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    project_dir: str | None = None,
    environment: Environment | None = None,
) -> tuple[Resolution, ...]:
    """uv's cache, by the rules of the uv the user runs (read from its binary)."""
    from cachecensus.discover.uvbin import user_uv
    from cachecensus.resolve.uv import resolve_uv

    found = user_uv(host, user, env)
    version = found.version if found is not None else None
    return (resolve_uv(host, user=user, env=env, project_dir=project_dir, version=version),)


def resolve_poetry_caches(
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    project_dir: str | None = None,
    environment: Environment | None = None,
) -> tuple[Resolution, ...]:
    from cachecensus.resolve.poetry import resolve_poetry

    return (resolve_poetry(host, user=user, env=env, project_dir=project_dir),)


def resolve_pdm_caches(
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    project_dir: str | None = None,
    environment: Environment | None = None,
) -> tuple[Resolution, ...]:
    from cachecensus.resolve.pdm import resolve_pdm

    return (resolve_pdm(host, user=user, env=env, project_dir=project_dir),)


def resolve_pipenv_caches(
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    project_dir: str | None = None,
    environment: Environment | None = None,
) -> tuple[Resolution, ...]:
    """pipenv's cache; for one of its venvs, as run in the project it belongs to."""
    from cachecensus.resolve.pipenv import resolve_pipenv

    if environment is not None:
        project_dir = _pipenv_project(host, environment.prefix)
    return (resolve_pipenv(host, user=user, env=env, project_dir=project_dir),)


def _pipenv_project(host: Host, prefix: str) -> str | None:
    """The project a pipenv venv belongs to: pipenv writes its path into ``.project``."""
    try:
        project = prefix.rstrip("/") + "/.project"  # a path: bytes, not necessarily UTF-8
        text = host.read_text(project, errors="surrogateescape").strip()
    except (OSError, ValueError):
        return None
    return text if posixpath.isabs(text) else None


def resolve_conda_caches(
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    project_dir: str | None = None,
    environment: Environment | None = None,
) -> tuple[Resolution, ...]:
    """conda's package dirs in conda's order; for one of its environments, those of the
    installation it belongs to (a ``micromamba`` root is read with mamba's rules)."""
    from cachecensus.resolve.conda import resolve_conda

    prefix = root_prefix = None
    if environment is not None:
        prefix = environment.prefix
        root_prefix = environment.prefix.split("/envs/", 1)[0]
    micromamba = root_prefix is not None and root_prefix.rstrip("/").endswith("micromamba")
    flavor: Literal["conda", "mamba"] = "mamba" if micromamba else "conda"
    return tuple(
        resolve_conda(
            host, user=user, env=env, prefix=prefix, root_prefix=root_prefix, flavor=flavor
        )
    )


def resolve_tool(
    tool: str,
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    project_dir: str | None = None,
    environment: Environment | None = None,
) -> tuple[Resolution, ...]:
    """Every cache location ``tool`` uses for ``user`` (its registered resolver, see
    :class:`ToolResolver`). KeyError for a tool with none (pip: per environment)."""
    from cachecensus.tools import tool as tool_named

    resolver = tool_named(tool).resolver
    if resolver is None:
        raise KeyError(tool)
    return resolver(host, user=user, env=env, project_dir=project_dir, environment=environment)
