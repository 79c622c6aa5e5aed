"""pipx's application venvs: ``$PIPX_HOME/venvs``, ``~/.local/pipx/venvs``,
``$XDG_DATA_HOME/pipx/venvs``."""

from __future__ import annotations

from collections.abc import Iterator

from cachecensus.discover.base import Candidate, Context, venvs_under
from cachecensus.models import EnvKind


def find(ctx: Context) -> Iterator[Candidate]:
    homes = [
        ctx.var_path("PIPX_HOME"),
        ctx.home(".local/pipx"),
        ctx.xdg("XDG_DATA_HOME", ".local/share") + "/pipx",
    ]
    for home in dict.fromkeys(h for h in homes if h):
        yield from venvs_under(ctx, home + "/venvs", EnvKind.PIPX, "pipx")
