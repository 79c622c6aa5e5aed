"""pipx's application venvs: ``$PIPX_HOME/venvs``, ``~/.local/pipx/venvs`` (pipx < 1.3),
``$XDG_DATA_HOME/pipx/venvs`` and ``~/.local/share/pipx/venvs``."""

from __future__ import annotations

from collections.abc import Iterator

from cachecensus.discover.base import Context, VenvDirProvider
from cachecensus.models import EnvKind


class PipxProvider(VenvDirProvider):
    name = "pipx"
    kind = EnvKind.PIPX

    @classmethod
    def roots_of(cls, ctx: Context) -> Iterator[str]:
        explicit = ctx.var_path("PIPX_HOME")
        if explicit:
            yield explicit + "/venvs"
        yield ctx.home(".local/pipx/venvs")
        yield ctx.xdg("XDG_DATA_HOME", ".local/share") + "/pipx/venvs"
        yield ctx.home(".local/share/pipx/venvs")
