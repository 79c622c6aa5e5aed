"""Known homes of virtualenvs: virtualenvwrapper (``WORKON_HOME``, ``~/.virtualenvs``),
pipenv (``~/.local/share/virtualenvs``), poetry (``virtualenvs.path``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

from cachecensus.discover.base import Candidate, Context, venvs_under
from cachecensus.models import EnvKind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def poetry_path(ctx: Context) -> str:
    """poetry's ``virtualenvs.path``: variable, config.toml, or ``{cache-dir}/virtualenvs``."""
    explicit = ctx.var_path("POETRY_VIRTUALENVS_PATH")
    if explicit:
        return explicit
    config_dir = ctx.var_path("POETRY_CONFIG_DIR") or (
        ctx.xdg("XDG_CONFIG_HOME", ".config") + "/pypoetry"
    )
    try:
        config = tomllib.loads(ctx.host.read_text(config_dir + "/config.toml"))
    except (OSError, tomllib.TOMLDecodeError):
        config = {}
    venvs = config.get("virtualenvs", {})
    if isinstance(venvs, dict) and isinstance(venvs.get("path"), str):
        return ctx.host.expanduser(venvs["path"], ctx.user)
    cache = ctx.var_path("POETRY_CACHE_DIR") or (ctx.xdg("XDG_CACHE_HOME", ".cache") + "/pypoetry")
    return cache + "/virtualenvs"


def find(ctx: Context) -> Iterator[Candidate]:
    workon = ctx.var_path("WORKON_HOME") or ctx.home(".virtualenvs")
    yield from venvs_under(ctx, workon, EnvKind.VIRTUALENVWRAPPER, "virtualenvwrapper")
    pipenv = ctx.xdg("XDG_DATA_HOME", ".local/share") + "/virtualenvs"
    yield from venvs_under(ctx, pipenv, EnvKind.PIPENV, "pipenv")
    yield from venvs_under(ctx, poetry_path(ctx), EnvKind.POETRY, "poetry")
