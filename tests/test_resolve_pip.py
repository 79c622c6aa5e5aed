"""Unit tests of pip cache-dir resolution on fake machines (``Host(root=tmp)``).

The differential suite (test_resolve_differential.py) proves agreement with real pip; these
cover what it cannot: provenance details, other users' ownership checks, foreign roots,
malformed and unreadable files, and macOS.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cachecensus.host import Host
from cachecensus.models import User
from cachecensus.resolve.pip import resolve_pip
from cachecensus.resolve.pipversions import Merge, XdgDirs, XdgHome, rules, vendored

NEW, OLD = "26.3", "23.2.1"
VERSIONS = ("20.3.4", "23.2.1", "25.3", "26.2.1", "26.3")  # one of each kind of XDG rules
ME = os.getuid() or 1000  # alice; never root, so the ownership rules for users apply
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root (CI runs as root)")


class Machine:
    """A fake root with one user, ``alice`` (owned by whoever runs the tests)."""

    def __init__(self, root: Path, platform: str = "linux") -> None:
        self.root = root
        home = "/Users/alice" if platform == "darwin" else "/home/alice"
        self.alice = User("alice", ME, ME, home, "/bin/sh")
        self.write(
            "/etc/passwd",
            f"root:x:0:0:root:/root:/bin/sh\nalice:x:{ME}:{ME}::{home}:/bin/sh\n",
        )
        self.write("/etc/group", f"root:x:0:\nalice:x:{ME}:\n")
        (root / home.lstrip("/")).mkdir(parents=True)
        if os.geteuid() == 0:  # alice owns the fake "/" and her home: her paths pass
            os.chown(root, ME, ME)  # pip's ownership check unless a test says otherwise
            os.chown(root / home.lstrip("/"), ME, ME)
        (root / "venv").mkdir()
        self.host = Host(root=str(root), env={}, euid=ME, platform=platform)

    def write(self, path: str, text: str | bytes) -> Path:
        real = self.root / path.lstrip("/")
        real.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            real.write_bytes(text)
        else:
            real.write_text(text)
        return real

    def resolve(self, env: dict[str, str] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
        variables = {"HOME": self.alice.home} if env is None else env
        kwargs.setdefault("prefix", "/venv")
        kwargs.setdefault("pip_version", NEW)
        return resolve_pip(self.host, user=self.alice, env=variables, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def m(tmp_path: Path) -> Machine:
    return Machine(tmp_path / "root")


def test_default_is_xdg_cache_home_else_dot_cache(m: Machine) -> None:
    res = m.resolve()
    assert res.cache_dir == "/home/alice/.cache/pip" and not res.disabled
    assert [(d.where, d.effective) for d in res.decided_by] == [("default: ~/.cache/pip", True)]
    res = m.resolve({"HOME": "/home/alice", "XDG_CACHE_HOME": "/xdg"})
    assert res.cache_dir == "/xdg/pip"
    assert res.decided_by[0].where == "default: $XDG_CACHE_HOME/pip"


def test_relative_xdg_cache_home_differs_between_pip_versions(m: Machine) -> None:
    env = {"HOME": "/home/alice", "XDG_CACHE_HOME": "rel"}
    assert m.resolve(env, cwd="/work").cache_dir == "/home/alice/.cache/pip"
    assert m.resolve(env, cwd="/work", pip_version=OLD).cache_dir == "/work/rel/pip"


def test_every_layer_in_precedence_order_with_lines(m: Machine) -> None:
    m.write("/etc/xdg/pip/pip.conf", "[global]\ncache-dir = /g\n")
    m.write("/etc/pip.conf", "# comment\n[global]\ntimeout = 3\ncache-dir = /e\n")
    m.write("/home/alice/.pip/pip.conf", "[global]\ncache-dir = /legacy\n")
    m.write("/home/alice/.config/pip/pip.conf", "[cache]\ncache-dir = /u\n")
    m.write("/venv/pip.conf", "[global]\ncache-dir = /s\n[install]\ncache-dir = /si\n")
    res = m.resolve({"HOME": "/home/alice", "PIP_CACHE_DIR": "/v"}, view="cache")
    assert res.cache_dir == "/v"
    assert [d.where for d in res.decided_by] == [
        "default: ~/.cache/pip",
        "/etc/xdg/pip/pip.conf:2 [global]",
        "/etc/pip.conf:4 [global]",
        "/home/alice/.pip/pip.conf:2 [global]",
        "/venv/pip.conf:2 [global]",
        "/home/alice/.config/pip/pip.conf:2 [cache]",
        "PIP_CACHE_DIR",
    ]
    assert [d.where for d in res.decided_by if d.effective] == ["PIP_CACHE_DIR"]
    assert res.reason == "set by the environment (PIP_CACHE_DIR)"
    # without the variable: the command's section beats every [global]
    assert m.resolve(view="cache").cache_dir == "/u"
    assert m.resolve(view="install").cache_dir == "/si"
    assert m.resolve(view="wheel").cache_dir == "/s"
    assert m.resolve(view="install", prefix=None).cache_dir == "/legacy"


def test_no_cache_dir_any_boolean_disables_and_invalid_is_an_error(m: Machine) -> None:
    m.write("/home/alice/.config/pip/pip.conf", "[global]\ncache-dir = /u\n")
    for value in ("1", "false", "no", "off", "yes", "TRUE"):
        res = m.resolve({"HOME": "/home/alice", "PIP_NO_CACHE_DIR": value})
        assert res.disabled and res.cache_dir is None and res.error is None, value
        assert [d.where for d in res.decided_by if d.effective] == ["PIP_NO_CACHE_DIR"]
        assert "no-cache-dir" in res.reason
    res = m.resolve({"HOME": "/home/alice", "PIP_NO_CACHE_DIR": "maybe"})
    assert res.error is not None and "maybe" in res.error
    assert not res.disabled and res.cache_dir == "/u"  # what it would be without the error
    res = m.resolve({"HOME": "/home/alice", "PIP_NO_CACHE_DIR": ""})
    assert not res.disabled and res.error is None  # empty values are ignored


def test_no_cache_dir_in_global_beats_a_later_cache_dir(m: Machine) -> None:
    m.write("/etc/pip.conf", "[global]\nno-cache-dir = no\n")
    res = m.resolve({"HOME": "/home/alice", "PIP_CACHE_DIR": "/v"})
    assert res.disabled
    assert [d.where for d in res.decided_by if d.effective] == ["/etc/pip.conf:2 [global]"]
    assert any(d.where == "PIP_CACHE_DIR" and not d.effective for d in res.decided_by)


def test_pip_config_file(m: Machine) -> None:
    m.write("/home/alice/.config/pip/pip.conf", "[global]\ncache-dir = /u\n")
    m.write("/venv/pip.conf", "[global]\ncache-dir = /s\n")
    m.write("/etc/env.conf", "[global]\ntimeout = 1\n")
    base = {"HOME": "/home/alice"}
    # an existing file: user files skipped, the file itself loaded last
    res = m.resolve({**base, "PIP_CONFIG_FILE": "/etc/env.conf"}, prefix=None)
    assert res.cache_dir == "/home/alice/.cache/pip"
    # a missing one: user files still read
    assert m.resolve({**base, "PIP_CONFIG_FILE": "/nope"}, prefix=None).cache_dir == "/u"
    # /dev/null: no file at all, variables still apply
    res = m.resolve({**base, "PIP_CONFIG_FILE": "/dev/null"})
    assert res.cache_dir == "/home/alice/.cache/pip"
    res = m.resolve({**base, "PIP_CONFIG_FILE": "/dev/null", "PIP_CACHE_DIR": "/v"})
    assert res.cache_dir == "/v"


def test_file_loaded_twice_keeps_first_position_since_pip_25_2(m: Machine) -> None:
    m.write("/etc/xdg/pip/pip.conf", "[global]\ncache-dir = /g\n")
    m.write("/venv/pip.conf", "[global]\ncache-dir = /s\n")
    env = {"HOME": "/home/alice", "PIP_CONFIG_FILE": "/etc/xdg/pip/pip.conf"}
    assert m.resolve(env).cache_dir == "/s"
    assert m.resolve(env, pip_version="25.2").cache_dir == "/s"
    for version in (OLD, "23.3.2", "24.0", "25.0.1"):  # still the later slot
        assert m.resolve(env, pip_version=version).cache_dir == "/g", version


def test_duplicate_spellings_in_one_section(m: Machine) -> None:
    path = "/home/alice/.config/pip/pip.conf"
    m.write(path, "[global]\ncache_dir = /a\nCACHE-DIR = /b\n")
    old = m.resolve(pip_version=OLD)
    assert old.cache_dir == "/b" and old.error is None
    new = m.resolve()
    assert new.error is not None and f"{path}:3" in new.error
    assert any(p.startswith(f"{path}:3:") for p in new.problems)


def test_malformed_file_is_reported_with_line_and_the_rest_resolves(m: Machine) -> None:
    path = "/home/alice/.config/pip/pip.conf"
    m.write(path, "[global]\ntimeout = 3\nthis is not an option\n")
    m.write("/venv/pip.conf", "[install]\ncache-dir = /site\n")
    res = m.resolve(view="install")
    assert res.cache_dir == "/site"
    assert len(res.problems) == 1 and res.problems[0].startswith(f"{path}:3: ")
    assert res.error is not None and path in res.error  # pip itself refuses to start


def test_missing_section_header_and_bad_utf8(m: Machine) -> None:
    m.write("/etc/pip.conf", "cache-dir = /x\n")
    m.write("/home/alice/.config/pip/pip.conf", b"[global]\n# caf\xe9\n")
    res = m.resolve()
    assert res.cache_dir == "/home/alice/.cache/pip"
    assert [p.split(": ")[0] for p in res.problems] == [
        "/etc/pip.conf:1",
        "/home/alice/.config/pip/pip.conf:2",
    ]


def test_parse_errors_quote_the_line_and_name_the_file_pip_reads_first(m: Machine) -> None:
    m.write("/etc/pip.conf", "[global]\nbad global line\n")
    m.write("/etc/env.conf", "[global]\n\nbad env line\n")
    env = {"HOME": "/home/alice", "PIP_CONFIG_FILE": "/etc/env.conf"}
    new = m.resolve(env)
    assert new.error == (
        "Configuration file could not be loaded: /etc/pip.conf:2: cannot parse 'bad global line'"
    )
    assert new.problems == (
        "/etc/pip.conf:2: cannot parse 'bad global line'; pip refuses to start",
        "/etc/env.conf:3: cannot parse 'bad env line'; pip refuses to start",
    )
    old = m.resolve(env, pip_version=OLD)  # pip 23.2 read PIP_CONFIG_FILE first
    assert old.error is not None and "/etc/env.conf:3: cannot parse 'bad env line'" in old.error


def test_a_global_dir_listed_twice(m: Machine) -> None:
    m.write("/a/pip/pip.conf", "[global]\ncache-dir = /from-a\n")
    m.write("/b/pip/pip.conf", "[global]\ncache-dir = /from-b\n")
    env = {"HOME": "/home/alice", "XDG_CONFIG_DIRS": "/a:/b:/a"}
    assert m.resolve(env).cache_dir == "/from-b"  # one slot per file name, first place kept
    assert m.resolve(env, pip_version=OLD).cache_dir == "/from-a"  # reloaded: overrides /b


def test_symlink_loop_in_a_foreign_root_disables_without_a_traceback(m: Machine) -> None:
    os.symlink("/loop2", m.root / "loop1")
    os.symlink("/loop1", m.root / "loop2")
    for path in ("/loop1", "/loop1/sub/pip"):
        env = {"HOME": "/home/alice", "PIP_CACHE_DIR": path}
        res = m.resolve(env)
        assert res.disabled and res.cache_dir is None and res.error is None, path
        assert "/loop1" in res.reason
        root_res = resolve_pip(m.host, user=m.alice, env=env, prefix=None, euid=0)
        assert root_res.disabled and "not owned by root" in root_res.reason, path


def test_unreadable_file_is_skipped_like_pip_does(m: Machine) -> None:
    (m.root / "etc" / "pip.conf").mkdir(parents=True)  # exists, but cannot be read
    m.write("/venv/pip.conf", "[global]\ncache-dir = /site\n")
    res = m.resolve()
    assert res.cache_dir == "/site" and res.error is None
    assert len(res.problems) == 1 and res.problems[0].startswith("/etc/pip.conf: unreadable")


def test_default_section_reaches_every_section(m: Machine) -> None:
    m.write("/venv/pip.conf", "[DEFAULT]\ncache-dir = /d\n[cache]\n")
    res = m.resolve(view="cache")
    assert res.cache_dir == "/d"
    assert [d.where for d in res.decided_by if d.effective] == ["/venv/pip.conf:2 [cache]"]
    assert m.resolve(view="install").cache_dir == "/home/alice/.cache/pip"


def test_empty_value_in_a_later_file_hides_an_earlier_one(m: Machine) -> None:
    m.write("/etc/pip.conf", "[global]\ncache-dir = /e\n")
    m.write("/venv/pip.conf", "[global]\ncache-dir =\n")
    res = m.resolve()
    assert res.cache_dir == "/home/alice/.cache/pip"
    assert [d.value for d in res.decided_by[1:]] == ["/e", ""]


def test_tilde_relative_and_symlinks_inside_the_root(m: Machine) -> None:
    m.write("/venv/pip.conf", "[global]\ncache-dir = ~/c\n")
    assert m.resolve().cache_dir == "/home/alice/c"
    env = {"HOME": "/home/alice", "PIP_CACHE_DIR": "rel/./c"}
    assert m.resolve(env, cwd="/work").cache_dir == "/work/rel/c"
    (m.root / "data").mkdir()
    if os.geteuid() == 0:
        os.chown(m.root / "data", ME, ME)
    os.symlink("/data", m.root / "home" / "alice" / "link")  # absolute: inside the root
    env = {"HOME": "/home/alice", "PIP_CACHE_DIR": "~/link/pip"}
    assert m.resolve(env).cache_dir == "/data/pip"


def test_ownership_check_for_a_non_root_user_by_mode(m: Machine) -> None:
    cache = m.root / "home" / "alice" / "ro"
    cache.mkdir()
    if os.geteuid() == 0:
        os.chown(cache, ME, ME)
    cache.chmod(0o555)
    try:
        env = {"HOME": "/home/alice", "PIP_CACHE_DIR": "/home/alice/ro/sub/pip"}
        res = m.resolve(env)
        assert res.disabled and res.cache_dir is None
        assert res.decided_by[-1].source == "check" and res.decided_by[-1].effective
        assert res.decided_by[-1].value == "/home/alice/ro"
        assert not any(d.effective for d in res.decided_by[:-1])
    finally:
        cache.chmod(0o755)


@needs_root
def test_ownership_check_groups_and_root(m: Machine, tmp_path: Path) -> None:
    shared = m.root / "srv" / "shared"
    shared.mkdir(parents=True)
    os.chown(shared, 4242, 2000)
    shared.chmod(0o775)
    m.write("/etc/passwd", "root:x:0:0::/root:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n")
    m.write("/etc/group", "root:x:0:\ncrew:x:2000:bob\n")
    host = Host(root=str(m.root), env={}, euid=0, platform="linux")
    bob = User("bob", 1001, 1001, "/home/bob", "/bin/sh")
    env = {"HOME": "/home/bob", "PIP_CACHE_DIR": "/srv/shared/pip"}
    res = resolve_pip(host, user=bob, env=env, prefix=None)
    assert res.cache_dir == "/srv/shared/pip"  # writable through group crew
    m.write("/etc/group", "root:x:0:\ncrew:x:2000:\n")
    host = Host(root=str(m.root), env={}, euid=0, platform="linux")
    assert resolve_pip(host, user=bob, env=env, prefix=None).disabled
    # root (sudo without -H): the nearest existing ancestor must be owned by root
    res = resolve_pip(host, user=bob, env=env, prefix=None, euid=0)
    assert res.disabled and "root" in res.reason
    os.chown(shared, 0, 0)
    assert resolve_pip(host, user=bob, env=env, prefix=None, euid=0).cache_dir == (
        "/srv/shared/pip"
    )


def test_macos_locations(tmp_path: Path) -> None:
    m = Machine(tmp_path / "mac", platform="darwin")
    home = "/Users/alice"
    m.write("/etc/pip.conf", "[global]\ncache-dir = /not-read-on-macos\n")
    res = m.resolve()
    assert res.cache_dir == f"{home}/Library/Caches/pip"
    assert res.decided_by[0].where == "default: ~/Library/Caches/pip"
    # pip 26 (platformdirs 4.12) honours XDG on macOS too; pip 23 does not
    env = {"HOME": home, "XDG_CACHE_HOME": "/xdg"}
    assert m.resolve(env).cache_dir == "/xdg/pip"
    assert m.resolve(env, pip_version=OLD).cache_dir == f"{home}/Library/Caches/pip"
    # user file: ~/.config/pip unless ~/Library/Application Support/pip exists
    m.write(f"{home}/.config/pip/pip.conf", "[global]\ncache-dir = /dotconfig\n")
    assert m.resolve().cache_dir == "/dotconfig"
    m.write(f"{home}/Library/Application Support/pip/pip.conf", "[global]\ncache-dir = /as\n")
    assert m.resolve().cache_dir == "/as"
    # global: /Library/Application Support/pip/pip.conf
    m.write("/Library/Application Support/pip/pip.conf", "[cache]\ncache-dir = /lib\n")
    assert m.resolve(view="cache").cache_dir == "/lib"


def test_resolution_reads_only_through_the_host(m: Machine) -> None:
    """A foreign root's files decide, never this machine's /etc/pip.conf."""
    m.write("/etc/pip.conf", "[global]\ncache-dir = /from-the-image\n")
    res = m.resolve()
    assert res.cache_dir == "/from-the-image"
    assert res.decided_by[-1].where == "/etc/pip.conf:2 [global]"


def test_unknown_view_is_refused(m: Machine) -> None:
    with pytest.raises(ValueError):
        m.resolve(view="freeze")


# ------------------------------------------------------------------- version-keyed rules


def test_the_rules_follow_the_vendored_platformdirs_not_the_pip_major() -> None:
    """pip 26.0.1 vendors platformdirs 4.5.1 (XDG values verbatim), 26.2.1 4.10.0
    (stripped), 26.3 4.12.4 (absolute only); a pip whose vendor.txt names another
    platformdirs follows that one."""
    assert rules("26.0.1").xdg_home is XdgHome.NONBLANK
    assert rules("26.2.1").xdg_home is XdgHome.STRIPPED
    assert rules("26.3").xdg_home is XdgHome.ABSOLUTE and rules("26.3").empty_home_is_unset
    assert not rules("26.2.1").empty_home_is_unset
    assert rules("26.3", "platformdirs 4.5.1").xdg_home is XdgHome.NONBLANK
    assert rules("23.2.1", "platformdirs 4.12.4").xdg_home is XdgHome.ABSOLUTE
    assert rules("20.3.4").xdg_home is XdgHome.SET and rules("20.3.4").dirs == "appdirs 1.4.4"
    assert rules("24.0").xdg_dirs is XdgDirs.EXPANDED  # platformdirs 3.8.1 expands ~
    assert rules("24.2").xdg_dirs is XdgDirs.VERBATIM  # 4.2.2 no longer does
    assert vendored("24.1.2") == "platformdirs 4.2.1" and vendored("19.3.1") == "appdirs 1.4.4"
    assert vendored(None) == vendored("99") == "platformdirs 4.12.4"


def test_merging_and_the_cache_command_by_pip_version() -> None:
    assert [rules(v).merge for v in ("20.3.4", "25.0.1", "25.2", "25.3", "26.0.1", None)] == [
        Merge.FLAT,
        Merge.FLAT,
        Merge.EVERY,
        Merge.EVERY,
        Merge.LAST,
        Merge.LAST,
    ]
    assert not rules("19.3.1").cache_command and rules("20.1").cache_command
    assert rules("23.3.2").env_file_first and not rules("24.0").env_file_first
    assert not rules("26.2.1").normalizing_parser and rules("26.3").normalizing_parser


def test_pip_19_has_no_cache_command_but_installs_with_a_cache(m: Machine) -> None:
    res = m.resolve(view="cache", pip_version="19.3.1")
    assert res.error is not None and "no 'cache' command" in res.error
    res = m.resolve(view="install", pip_version="19.3.1")
    assert res.error is None and res.cache_dir == "/home/alice/.cache/pip"
    assert res.tool_version == "19.3.1"


def test_empty_or_blank_xdg_values_are_used_by_pip_20(m: Machine) -> None:
    """appdirs (pip < 21.3) uses any set XDG_CACHE_HOME, even empty: ``./pip``."""
    for value, where in (("", "/work/pip"), ("  ", "/work/  /pip")):
        env = {"HOME": "/home/alice", "XDG_CACHE_HOME": value}
        assert m.resolve(env, cwd="/work", pip_version="20.3.4").cache_dir == where
        assert m.resolve(env, cwd="/work").cache_dir == "/home/alice/.cache/pip"


def test_xdg_config_dirs_with_no_usable_entry(m: Machine) -> None:
    """``XDG_CONFIG_DIRS=":"``: appdirs and platformdirs 4.6 ... 4.11.7 leave one entry
    ``""`` (the working dir's ``pip.conf``), platformdirs < 4.6 reads ``./pip/pip.conf``
    twice, 4.11.8 and later fall back to ``/etc/xdg``."""
    m.write("/work/pip.conf", "[global]\ncache-dir = /cwd\n")
    m.write("/work/pip/pip.conf", "[global]\ncache-dir = /rel\n")
    m.write("/etc/xdg/pip/pip.conf", "[global]\ncache-dir = /etc-xdg\n")
    env = {"HOME": "/home/alice", "XDG_CONFIG_DIRS": ":"}
    found = {v: m.resolve(env, cwd="/work", pip_version=v).cache_dir for v in VERSIONS}
    assert found == {
        "20.3.4": "/cwd",
        "23.2.1": "/rel",
        "25.3": "/rel",
        "26.2.1": "/cwd",
        "26.3": "/etc-xdg",
    }


def test_tilde_and_padded_xdg_config_dirs_entries(m: Machine) -> None:
    m.write("/g/pip/pip.conf", "[global]\ncache-dir = /from-g\n")
    m.write("/home/alice/gx/pip/pip.conf", "[global]\ncache-dir = /expanded\n")
    m.write("/work/~/gx/pip/pip.conf", "[global]\ncache-dir = /literal\n")
    env = {"HOME": "/home/alice", "XDG_CONFIG_DIRS": "/g:~/gx"}
    found = {v: m.resolve(env, cwd="/work", pip_version=v).cache_dir for v in VERSIONS}
    assert found == {
        "20.3.4": "/expanded",
        "23.2.1": "/expanded",  # platformdirs < 4.2 expands ~
        "25.3": "/literal",
        "26.2.1": "/literal",
        "26.3": "/from-g",  # not absolute: dropped
    }
    m.write("/work/ /h/pip/pip.conf", "[global]\ncache-dir = /padded\n")
    m.write("/h/pip/pip.conf", "[global]\ncache-dir = /stripped\n")
    env = {"HOME": "/home/alice", "XDG_CONFIG_DIRS": "/g: /h"}
    assert m.resolve(env, cwd="/work", pip_version="26.2.1").cache_dir == "/padded"
    assert m.resolve(env, cwd="/work").cache_dir == "/stripped"


def test_an_empty_home(m: Machine) -> None:
    """``HOME=""``: ``os.path.expanduser`` gives ``/.cache``; platformdirs 4.12 takes the
    passwd home."""
    env = {"HOME": ""}
    assert m.resolve(env, pip_version="26.2.1").cache_dir == "/.cache/pip"
    assert m.resolve(env).cache_dir == "/home/alice/.cache/pip"


def test_an_empty_later_value_erases_except_in_pip_25_2_and_25_3(m: Machine) -> None:
    m.write("/home/alice/.config/pip/pip.conf", "[global]\ncache-dir = /u\nno-cache-dir = x\n")
    m.write("/venv/pip.conf", "[global]\ncache-dir =\nno-cache-dir =\n")
    for version in (*VERSIONS, "25.2"):
        res = m.resolve(pip_version=version)
        if version in ("25.2", "25.3"):  # every non-empty value is still seen
            assert res.cache_dir == "/u" and res.error is not None, version
            assert "invalid truth value 'x'" in res.error
        else:
            assert res.cache_dir == "/home/alice/.cache/pip" and res.error is None, version
