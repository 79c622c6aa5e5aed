"""Known homes of virtualenvs: virtualenvwrapper (``WORKON_HOME``, ``~/.virtualenvs``),
pipenv (``$XDG_DATA_HOME/virtualenvs``, ``~/.local/share/virtualenvs``), poetry
(``virtualenvs.path``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

from cachecensus.discover.base import Context, VenvDirProvider
from cachecensus.models import EnvKind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class VirtualenvwrapperProvider(VenvDirProvider):
    name = "virtualenvwrapper"
    kind = EnvKind.VIRTUALENVWRAPPER

    @classmethod
    def roots_of(cls, ctx: Context) -> Iterator[str]:
        yield ctx.var_path("WORKON_HOME") or ctx.home(".virtualenvs")


class PipenvProvider(VenvDirProvider):
    name = "pipenv"
    kind = EnvKind.PIPENV

    @classmethod
    def roots_of(cls, ctx: Context) -> Iterator[str]:
        yield ctx.xdg("XDG_DATA_HOME", ".local/share") + "/virtualenvs"
        yield ctx.home(".local/share/virtualenvs")


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
    except (OSError, ValueError):  # TOMLDecodeError is a ValueError
        config = {}
    venvs = config.get("virtualenvs", {})
    if isinstance(venvs, dict) and isinstance(venvs.get("path"), str):
        return ctx.host.expanduser(venvs["path"], ctx.user)
    cache = ctx.var_path("POETRY_CACHE_DIR") or (ctx.xdg("XDG_CACHE_HOME", ".cache") + "/pypoetry")
    return cache + "/virtualenvs"


class PoetryProvider(VenvDirProvider):
    name = "poetry"
    kind = EnvKind.POETRY

    @classmethod
    def roots_of(cls, ctx: Context) -> Iterator[str]:
        yield poetry_path(ctx)
