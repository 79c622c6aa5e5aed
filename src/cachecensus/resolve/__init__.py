"""Where each tool's cache is, with provenance: one resolver module per tool.

:func:`resolve_tool` is the one entry point the census uses for the tools other than pip
(pip is resolved per environment and per view by :mod:`cachecensus.resolve.pip`):

- ``uv``, ``poetry``, ``pdm``, ``pipenv``: ``resolve_<tool>(host, *, user, env,
  project_dir=None) -> Resolution`` (uv also takes ``version``: that of the uv the user
  runs, found by :func:`cachecensus.discover.uvbin.user_uv`);
- ``conda``: ``resolve_conda(host, *, user, env, prefix=None, root_prefix=None) ->
  tuple[Resolution, ...]``, one per package dir in conda's order.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from cachecensus.host import Host
from cachecensus.models import Resolution, User

#: Tools resolved per user (pip is resolved per environment and view elsewhere).
OTHER_TOOLS: tuple[str, ...] = ("uv", "poetry", "pdm", "pipenv", "conda")


def resolve_tool(
    tool: str,
    host: Host,
    *,
    user: User,
    env: Mapping[str, str],
    project_dir: str | None = None,
    prefix: str | None = None,
    root_prefix: str | None = None,
) -> tuple[Resolution, ...]:
    """Every cache location ``tool`` uses for ``user`` (conda may name several package
    dirs; the others one). ``prefix``/``root_prefix``: a conda environment and the
    installation it belongs to (a ``micromamba`` root is read with mamba's rules).
    Raises ImportError for a tool this build cannot resolve."""
    module = importlib.import_module(f"cachecensus.resolve.{tool}")
    resolver = getattr(module, f"resolve_{tool}")
    if tool == "conda":
        flavor = (
            "mamba" if root_prefix and root_prefix.rstrip("/").endswith("micromamba") else "conda"
        )
        found = resolver(
            host, user=user, env=env, prefix=prefix, root_prefix=root_prefix, flavor=flavor
        )
        return tuple(found)
    if tool == "uv":  # by the rules of the uv the user runs (read from its binary)
        from cachecensus.discover.uvbin import user_uv

        found_uv = user_uv(host, user, env)
        version = found_uv.version if found_uv is not None else None
        return (resolver(host, user=user, env=env, project_dir=project_dir, version=version),)
    return (resolver(host, user=user, env=env, project_dir=project_dir),)
