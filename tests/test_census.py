"""The census: (user, environment) pairs resolved and grouped by physical cache directory.

The grouping is tested with an injected resolver (the seam ``build_census(resolve=...)``)
so each case states exactly which directory each pair resolves to; the last tests run the
real :func:`cachecensus.resolve.pip.resolve_pip` on the fake machine.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from pathlib import Path

from cachecensus.census import build_census, environments_of
from cachecensus.discover import discover
from cachecensus.host import Host
from cachecensus.models import Environment, EnvKind, Resolution, Usage, User
from test_discover import ALICE, BOB, fake_machine


class FakeResolver:
    """pip's answer per pair: PIP_CACHE_DIR, else a venv's ``cache`` file, else ~/.cache/pip."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.calls: list[tuple[str, str | None, str]] = []

    def __call__(
        self,
        host: Host,
        *,
        user: User,
        env: Mapping[str, str],
        prefix: str | None,
        view: str = "install",
        cwd: str | None = None,
        euid: int | None = None,
        pip_version: str | None = None,
    ) -> Resolution:
        assert host is self.host and euid == user.uid and cwd == user.home
        self.calls.append((user.name, prefix, view))
        where = "default"
        path = posixpath.join(env.get("HOME", user.home), ".cache", "pip")
        if prefix and host.is_file(prefix + "/cache"):
            path, where = host.read_text(prefix + "/cache").strip(), f"{prefix}/cache"
        if "PIP_CACHE_DIR" in env:
            path, where = env["PIP_CACHE_DIR"], "PIP_CACHE_DIR"
        if path == "off":
            return Resolution("pip", view, None, True, f"disabled by {where}")
        return Resolution("pip", view, path, False, where)


def user(name: str, uid: int, home: str) -> User:
    return User(name=name, uid=uid, gid=uid, home=home, shell="/bin/sh")


def venv_env(prefix: str, owner: str) -> Environment:
    return Environment(
        interpreter=prefix + "/bin/python",
        prefix=prefix,
        kind=EnvKind.VENV,
        name=posixpath.basename(prefix),
        version="3.12.1",
        owner=owner,
        base_interpreter="/usr/bin/python3.12",
        pip_version="24.0",
    )


def machine(tmp_path: Path) -> tuple[Host, Path]:
    root = tmp_path / "m"
    for d in ("home/ann/.cache/pip", "home/ann/a/bin", "home/ann/b/bin", "home/ben", "srv"):
        (root / d).mkdir(parents=True)
    return Host(root=str(root)), root


def defaults(host: Host, u: User) -> dict[str, str]:
    return {"HOME": u.home, "USER": u.name, "LOGNAME": u.name}


def test_two_venvs_of_one_user_sharing_one_cache_are_one_cache_dir(tmp_path: Path) -> None:
    host, _ = machine(tmp_path)
    ann = user("ann", 1000, "/home/ann")
    envs = [venv_env("/home/ann/a", "ann"), venv_env("/home/ann/b", "ann")]
    resolver = FakeResolver(host)
    census = build_census(host, [ann], envs, resolve=resolver, variables=defaults)
    assert len(census.caches) == 1
    cache = census.caches[0]
    assert cache.path == "/home/ann/.cache/pip" and cache.exists and cache.tool == "pip"
    assert cache.used_by == (
        Usage("ann", "", "install"),
        Usage("ann", "/home/ann/a/bin/python", "install"),
        Usage("ann", "/home/ann/b/bin/python", "install"),
    )
    # each pair resolved for installs and for `pip cache` (to flag differing views)
    assert set(resolver.calls) == {
        (n, p, v)
        for n, p in (("ann", None), ("ann", "/home/ann/a"), ("ann", "/home/ann/b"))
        for v in ("install", "cache")
    }
    assert len(resolver.calls) == 6
    assert [u.environment for u, _ in census.resolutions] == [
        "",
        "/home/ann/a/bin/python",
        "/home/ann/b/bin/python",
    ]
    assert census.problems == ()


def test_a_symlinked_cache_spelled_two_ways_is_one_cache(tmp_path: Path) -> None:
    host, root = machine(tmp_path)
    os.symlink("/home/ann/.cache/pip", root / "srv/pipcache")
    (root / "home/ann/b/cache").write_text("/srv/pipcache\n")
    ann = user("ann", 1000, "/home/ann")
    envs = [venv_env("/home/ann/a", "ann"), venv_env("/home/ann/b", "ann")]
    census = build_census(host, [ann], envs, resolve=FakeResolver(host), variables=defaults)
    assert [c.path for c in census.caches] == ["/home/ann/.cache/pip"]
    assert set(census.caches[0].names) == {"/home/ann/.cache/pip", "/srv/pipcache"}
    assert len(census.caches[0].used_by) == 3


def test_pip_cache_dir_in_a_users_env_gives_them_their_own_cache(tmp_path: Path) -> None:
    host, _ = machine(tmp_path)
    ann, ben = user("ann", 1000, "/home/ann"), user("ben", 1001, "/home/ben")
    shared = Environment(
        interpreter="/usr/bin/python3.12",
        prefix="/usr",
        kind=EnvKind.SYSTEM,
        name="python3.12@/usr",
        version="3.12.1",
        owner="root",
        pip_version="24.0",
    )

    def variables(h: Host, u: User) -> dict[str, str]:
        extra = {"PIP_CACHE_DIR": "/srv/ben-cache"} if u.name == "ben" else {}
        return {**defaults(h, u), **extra}

    envs = [shared, venv_env("/home/ann/a", "ann")]
    census = build_census(host, [ann, ben], envs, resolve=FakeResolver(host), variables=variables)
    caches = {c.path: c for c in census.caches}
    assert set(caches) == {"/home/ann/.cache/pip", "/srv/ben-cache"}
    assert {u.user for u in caches["/srv/ben-cache"].used_by} == {"ben"}
    assert not caches["/srv/ben-cache"].exists
    # the system Python is shared: both users use it, each with their own cache
    assert Usage("ben", "/usr/bin/python3.12") in caches["/srv/ben-cache"].used_by
    assert Usage("ann", "/usr/bin/python3.12") in caches["/home/ann/.cache/pip"].used_by
    # ann's venv is hers alone
    assert not any(u.environment.startswith("/home/ann/") for u in caches["/srv/ben-cache"].used_by)


def test_disabled_caches_and_differing_views_are_reported(tmp_path: Path) -> None:
    host, root = machine(tmp_path)
    (root / "home/ann/a/cache").write_text("off\n")
    ann = user("ann", 1000, "/home/ann")

    def split_views(host: Host, **kw: object) -> Resolution:
        res = FakeResolver(host)(host, **kw)  # type: ignore[arg-type]
        if kw["view"] == "cache" and res.cache_dir:
            return Resolution("pip", "cache", "/elsewhere", False, "[cache] section")
        return res

    envs = [venv_env("/home/ann/a", "ann")]
    census = build_census(host, [ann], envs, resolve=split_views, variables=defaults)
    assert [c.path for c in census.caches] == ["/home/ann/.cache/pip"]
    disabled = [r for u, r in census.resolutions if u.environment == "/home/ann/a/bin/python"]
    assert disabled[0].disabled and disabled[0].cache_dir is None
    assert [p.message for p in census.notes] == [
        "for ann, installs use /home/ann/.cache/pip but 'pip cache' works on /elsewhere"
    ]
    assert census.problems == ()  # advice about a working setup, not a failure


def test_who_uses_which_environment() -> None:
    root = user("root", 0, "/root")
    ann = user("ann", 1000, "/home/ann")
    envs = [
        venv_env("/home/ann/a", "ann"),
        venv_env("/root/.venv", "root"),
        venv_env("/opt/tool", "root"),
        Environment("/x/bin/python", "/x", EnvKind.VENV, "x", owner="ann", problem="broken"),
    ]
    assert [e.prefix for e in environments_of(ann, envs, "/root")] == ["/home/ann/a", "/opt/tool"]
    assert [e.prefix for e in environments_of(root, envs, "/root")] == ["/root/.venv", "/opt/tool"]


def test_census_of_the_fake_machine_with_real_resolution(tmp_path: Path) -> None:
    root = fake_machine(tmp_path)
    host = Host(root=str(root))
    alice = host.user_by_name("alice")
    bob = host.user_by_name("bob")
    assert alice is not None and bob is not None
    (root / "home/alice/.cache/pip").mkdir(parents=True)
    for made in ("home/alice/.cache", "home/alice/.cache/pip"):
        os.chown(root / made, ALICE, ALICE)
    os.symlink("/home/alice/.cache/pip", root / "home/alice/pipcache-link")
    os.lchown(root / "home/alice/pipcache-link", ALICE, ALICE)
    # one venv names the same cache through a symlink (its site pip.conf)
    (root / "home/alice/proj/.venv/pip.conf").write_text(
        "[global]\ncache-dir = /home/alice/pipcache-link\n"
    )
    (root / "home/bob/own-cache").mkdir()
    os.chown(root / "home/bob/own-cache", BOB, BOB)
    envs, _ = discover(host, [alice, bob])

    def variables(h: Host, u: User) -> dict[str, str]:
        extra = {"PIP_CACHE_DIR": "/home/bob/own-cache"} if u.name == "bob" else {}
        return {"HOME": u.home, "USER": u.name, **extra}

    census = build_census(host, [alice, bob], envs, variables=variables)
    caches = {c.path: c for c in census.caches}
    alices = caches["/home/alice/.cache/pip"]
    assert set(alices.names) == {"/home/alice/.cache/pip", "/home/alice/pipcache-link"}
    assert alices.owner == "alice" and alices.exists
    envs_using = {u.environment for u in alices.used_by if u.user == "alice"}
    assert "/home/alice/proj/.venv/bin/python" in envs_using
    assert "/home/alice/.virtualenvs/work/bin/python" in envs_using
    assert "/usr/bin/python3.11" in envs_using  # the shared system Python
    assert "" in envs_using  # alice's plain pip
    assert {u.user for u in caches["/home/bob/own-cache"].used_by} == {"bob"}
    # private environments are their owner's only; broken ones are nobody's
    assert not any(u.environment.startswith("/home/bob/") for u in alices.used_by)
    assert not any("/dangling/" in u.environment for u, _ in census.resolutions)
    bobs = [r for u, r in census.resolutions if u.user == "bob" and u.environment == ""]
    assert bobs[0].cache_dir == "/home/bob/own-cache"
    assert any(d.where == "PIP_CACHE_DIR" and d.effective for d in bobs[0].decided_by)


def test_other_tools_join_where_their_caches_exist_and_errors_are_problems(
    tmp_path: Path,
) -> None:
    """The real resolvers of the other tools on the fake machine: a uv cache that exists
    (UV_CACHE_DIR) joins the census as uv's, a tool whose default dir does not exist does
    not, and a variable that would make uv fail is a problem naming it."""
    root = fake_machine(tmp_path)
    host = Host(root=str(root))
    alice = next(u for u in host.users() if u.name == "alice")
    (root / "home/alice/uvc").mkdir()

    def variables(h: Host, u: User) -> dict[str, str]:
        return {"HOME": u.home, "USER": u.name, "UV_CACHE_DIR": "/home/alice/uvc"}

    census = build_census(host, [alice], [], variables=variables, tools=["uv", "pdm"])
    assert [(c.tool, c.path) for c in census.caches] == [("uv", "/home/alice/uvc")]
    assert census.caches[0].used_by == (Usage("alice", "", "default"),)

    def broken(h: Host, u: User) -> dict[str, str]:
        return {"HOME": u.home, "USER": u.name, "UV_NO_CACHE": "maybe"}

    census = build_census(host, [alice], [], variables=broken, tools=["uv"])
    assert census.caches == ()
    assert any("uv would fail" in p.message and "UV_NO_CACHE" in p.message for p in census.problems)
