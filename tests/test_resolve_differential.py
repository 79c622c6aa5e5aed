"""Differential tests: ``cachecensus dir --python VENV/bin/python`` must print exactly what
``VENV/bin/python -m pip cache dir`` prints, across scenarios of variables x config layers
x sections x XDG x HOME x disabled caches x path forms: every scenario end to end for the
newest pip, and every scenario for each of 16 pip versions (the matrix, below).

Every scenario runs in a private HOME and XDG tree; the machine's own /etc/pip.conf and
/etc/xdg files are read by both sides (they set no cache-dir here), as they would be for
a user.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from packaging.version import Version

from conftest import PIP_NEW, PIP_OLD, REPO, WORK

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")


@dataclass
class Scenario:
    name: str
    env: dict[str, str | None] = field(default_factory=dict)  # None: unset
    # {path template: content}; a path ending in "/" is a directory
    files: dict[str, str | bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # {link template: target template}
    cwd: str = "{tmp}/work"
    chown_nobody: tuple[str, ...] = ()  # dirs (templates) to create and give to nobody


C = "[global]\ncache-dir = {v}\n"
S: list[Scenario] = [
    Scenario("default"),
    Scenario("env PIP_CACHE_DIR", env={"PIP_CACHE_DIR": "{tmp}/envcache"}),
    Scenario("env PIP_CACHE_DIR with ~", env={"PIP_CACHE_DIR": "~/tilde-cache"}),
    Scenario("env PIP_CACHE_DIR relative", env={"PIP_CACHE_DIR": "rel/cache"}),
    Scenario("env PIP_CACHE_DIR empty is ignored", env={"PIP_CACHE_DIR": ""}),
    Scenario("env PIP_CACHE_DIR with dots", env={"PIP_CACHE_DIR": "{tmp}/a/../b/./c"}),
    Scenario("XDG_CACHE_HOME absolute", env={"XDG_CACHE_HOME": "{tmp}/xdgcache"}),
    Scenario("XDG_CACHE_HOME relative (versions differ)", env={"XDG_CACHE_HOME": "relxdg"}),
    Scenario("XDG_CACHE_HOME blank", env={"XDG_CACHE_HOME": "  "}),
    Scenario("HOME elsewhere", env={"HOME": "{tmp}/otherhome"}),
    Scenario("global xdg file", files={"{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g")}),
    Scenario(
        "two XDG_CONFIG_DIRS, both read, later wins",
        env={"XDG_CONFIG_DIRS": "{tmp}/xdgsys:{tmp}/xdgsys2"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g1"),
            "{tmp}/xdgsys2/pip/pip.conf": C.format(v="{tmp}/g2"),
        },
    ),
    Scenario("user legacy ~/.pip/pip.conf", files={"{home}/.pip/pip.conf": C.format(v="{tmp}/u")}),
    Scenario(
        "user XDG file",
        files={"{home}/.config/pip/pip.conf": C.format(v="{tmp}/ux")},
    ),
    Scenario(
        "user XDG beats legacy",
        files={
            "{home}/.pip/pip.conf": C.format(v="{tmp}/legacy"),
            "{home}/.config/pip/pip.conf": C.format(v="{tmp}/new"),
        },
    ),
    Scenario(
        "XDG_CONFIG_HOME moves the user file",
        env={"XDG_CONFIG_HOME": "{tmp}/cfg"},
        files={"{tmp}/cfg/pip/pip.conf": C.format(v="{tmp}/moved")},
    ),
    Scenario(
        "user beats global",
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g"),
            "{home}/.config/pip/pip.conf": C.format(v="{tmp}/u"),
        },
    ),
    Scenario("site file in the venv", files={"{venv}/pip.conf": C.format(v="{tmp}/site")}),
    Scenario(
        "site beats user",
        files={
            "{home}/.config/pip/pip.conf": C.format(v="{tmp}/u"),
            "{venv}/pip.conf": C.format(v="{tmp}/site"),
        },
    ),
    Scenario(
        "PIP_CONFIG_FILE beats site",
        env={"PIP_CONFIG_FILE": "{tmp}/envfile.conf"},
        files={
            "{venv}/pip.conf": C.format(v="{tmp}/site"),
            "{tmp}/envfile.conf": C.format(v="{tmp}/envfile"),
        },
    ),
    Scenario(
        "existing PIP_CONFIG_FILE skips user files",
        env={"PIP_CONFIG_FILE": "{tmp}/empty.conf"},
        files={"{tmp}/empty.conf": "", "{home}/.config/pip/pip.conf": C.format(v="{tmp}/u")},
    ),
    Scenario(
        "missing PIP_CONFIG_FILE keeps user files",
        env={"PIP_CONFIG_FILE": "{tmp}/nope.conf"},
        files={"{home}/.config/pip/pip.conf": C.format(v="{tmp}/u")},
    ),
    Scenario(
        "PIP_CONFIG_FILE=/dev/null skips every file",
        env={"PIP_CONFIG_FILE": "/dev/null"},
        files={
            "{home}/.config/pip/pip.conf": C.format(v="{tmp}/u"),
            "{venv}/pip.conf": C.format(v="{tmp}/site"),
        },
    ),
    Scenario(
        "PIP_CONFIG_FILE=/dev/null keeps variables",
        env={"PIP_CONFIG_FILE": "/dev/null", "PIP_CACHE_DIR": "{tmp}/var"},
    ),
    Scenario(
        "relative PIP_CONFIG_FILE",
        env={"PIP_CONFIG_FILE": "rel.conf"},
        files={"{tmp}/work/rel.conf": C.format(v="{tmp}/relconf")},
    ),
    Scenario(
        "[cache] section beats [global] for pip cache",
        files={
            "{home}/.config/pip/pip.conf": "[global]\ncache-dir = {tmp}/g\n"
            "[cache]\ncache-dir = {tmp}/c\n"
        },
    ),
    Scenario(
        "[install] section does not apply to pip cache",
        files={
            "{home}/.config/pip/pip.conf": "[global]\ncache-dir = {tmp}/g\n"
            "[install]\ncache-dir = {tmp}/i\n"
        },
    ),
    Scenario(
        "global-file [cache] beats user-file [global]",
        files={
            "{tmp}/xdgsys/pip/pip.conf": "[cache]\ncache-dir = {tmp}/gc\n",
            "{home}/.config/pip/pip.conf": C.format(v="{tmp}/ug"),
        },
    ),
    Scenario(
        "variable beats every file",
        env={"PIP_CACHE_DIR": "{tmp}/var"},
        files={"{home}/.config/pip/pip.conf": "[cache]\ncache-dir = {tmp}/c\n"},
    ),
    Scenario(
        "empty value in a later file hides the earlier one",
        files={
            "{home}/.config/pip/pip.conf": C.format(v="{tmp}/u"),
            "{venv}/pip.conf": "[global]\ncache-dir =\n",
        },
    ),
    Scenario("~ in a config value", files={"{home}/.config/pip/pip.conf": C.format(v="~/cfgc")}),
    Scenario("relative config value", files={"{home}/.config/pip/pip.conf": C.format(v="relc")}),
    Scenario(
        "key spelled with underscores and colon",
        files={"{home}/.config/pip/pip.conf": "[global]\nCACHE_DIR: {tmp}/under\n"},
    ),
    Scenario(
        "--cache-dir spelled as the long option",
        files={"{home}/.config/pip/pip.conf": "[global]\n--cache-dir = {tmp}/long\n"},
    ),
    Scenario(
        "symlinked cache dir is resolved",
        env={"PIP_CACHE_DIR": "{tmp}/link"},
        links={"{tmp}/link": "{tmp}/real"},
        files={"{tmp}/real/.keep": ""},
    ),
    Scenario("PIP_NO_CACHE_DIR=1", env={"PIP_NO_CACHE_DIR": "1"}),
    Scenario("PIP_NO_CACHE_DIR=false still disables", env={"PIP_NO_CACHE_DIR": "false"}),
    Scenario("PIP_NO_CACHE_DIR=off", env={"PIP_NO_CACHE_DIR": "off"}),
    Scenario("PIP_NO_CACHE_DIR=yes", env={"PIP_NO_CACHE_DIR": "yes"}),
    Scenario("PIP_NO_CACHE_DIR empty is ignored", env={"PIP_NO_CACHE_DIR": ""}),
    Scenario("PIP_NO_CACHE_DIR invalid is pip's error", env={"PIP_NO_CACHE_DIR": "maybe"}),
    Scenario(
        "no-cache-dir in [global] beats a later cache-dir",
        env={"PIP_CACHE_DIR": "{tmp}/var"},
        files={"{home}/.config/pip/pip.conf": "[global]\nno-cache-dir = no\n"},
    ),
    Scenario(
        "no-cache-dir in [install] does not apply to pip cache",
        files={"{home}/.config/pip/pip.conf": "[install]\nno-cache-dir = true\n"},
    ),
    Scenario(
        "no-cache-dir in [cache]",
        files={"{venv}/pip.conf": "[cache]\nno-cache-dir = 0\n"},
    ),
    Scenario(
        "malformed user file: pip refuses to start",
        files={"{home}/.config/pip/pip.conf": C.format(v="{tmp}/x") + "garbage line\n"},
    ),
    Scenario(
        "no-cache-dir invalid in a config file",
        files={"{home}/.config/pip/pip.conf": "[global]\nno-cache-dir = perhaps\n"},
    ),
    Scenario(
        "cache_dir and cache-dir in one section (versions differ)",
        files={
            "{home}/.config/pip/pip.conf": "[global]\ncache_dir = {tmp}/a\ncache-dir = {tmp}/b\n"
        },
    ),
    Scenario(
        "PIP_CONFIG_FILE naming a global file (versions differ)",
        env={"PIP_CONFIG_FILE": "{tmp}/xdgsys/pip/pip.conf"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g"),
            "{venv}/pip.conf": C.format(v="{tmp}/site"),
        },
    ),
    Scenario(
        "[DEFAULT] keys reach every section",
        files={"{home}/.config/pip/pip.conf": "[DEFAULT]\ncache-dir = {tmp}/d\n[cache]\n"},
    ),
    Scenario(
        "relative XDG_CONFIG_DIRS entry (versions differ)",
        env={"XDG_CONFIG_DIRS": "relsys:{tmp}/xdgsys"},
        files={"{tmp}/work/relsys/pip/pip.conf": C.format(v="{tmp}/relsys")},
    ),
    Scenario(
        "relative XDG_CONFIG_HOME (versions differ)",
        env={"XDG_CONFIG_HOME": "relcfg"},
        files={"{tmp}/work/relcfg/pip/pip.conf": C.format(v="{tmp}/relcfg")},
    ),
    Scenario(
        "CRLF line endings",
        files={"{home}/.config/pip/pip.conf": "[cache]\r\ncache-dir = {tmp}/crlf\r\n"},
    ),
    Scenario(
        "a global dir listed twice in XDG_CONFIG_DIRS (versions differ)",
        env={"XDG_CONFIG_DIRS": "{tmp}/xdgsys:{tmp}/xdgsys2:{tmp}/xdgsys"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g1"),
            "{tmp}/xdgsys2/pip/pip.conf": C.format(v="{tmp}/g2"),
        },
    ),
    Scenario(
        "dangling symlink: pip uses its target",
        env={"PIP_CACHE_DIR": "{tmp}/dangling"},
        links={"{tmp}/dangling": "{tmp}/not-yet/cache"},
    ),
    Scenario(
        "symlink loop as cache dir: ownership check fails",
        env={"PIP_CACHE_DIR": "{tmp}/loop1"},
        links={"{tmp}/loop1": "{tmp}/loop2", "{tmp}/loop2": "{tmp}/loop1"},
    ),
    Scenario(
        "below a symlink loop",
        env={"PIP_CACHE_DIR": "{tmp}/loop1/sub"},
        links={"{tmp}/loop1": "{tmp}/loop2", "{tmp}/loop2": "{tmp}/loop1"},
    ),
    Scenario(
        "cache dir owned by nobody is disabled for root",
        env={"PIP_CACHE_DIR": "{tmp}/nobodys"},
        chown_nobody=("{tmp}/nobodys",),
    ),
    Scenario(
        "missing cache dir under a nobody-owned parent",
        env={"PIP_CACHE_DIR": "{tmp}/nobodys/sub/cache"},
        chown_nobody=("{tmp}/nobodys",),
    ),
]

# Issue 16: every scenario named there, so each pip version's rules are pinned down. Where
# versions differ, files sit at every place some version would look (the value names it).
U = "{home}/.config/pip/pip.conf"
W = "{tmp}/work"
S += [
    # XDG_CACHE_HOME: empty, blank, padded, ~, relative, odd forms
    Scenario("XDG_CACHE_HOME empty", env={"XDG_CACHE_HOME": ""}),
    Scenario("XDG_CACHE_HOME padded", env={"XDG_CACHE_HOME": " {tmp}/xc "}),
    Scenario("XDG_CACHE_HOME with trailing spaces", env={"XDG_CACHE_HOME": "{tmp}/xc  "}),
    Scenario("XDG_CACHE_HOME ~-prefixed", env={"XDG_CACHE_HOME": "~/xc"}),
    Scenario("XDG_CACHE_HOME is ~", env={"XDG_CACHE_HOME": "~"}),
    Scenario("XDG_CACHE_HOME ~user", env={"XDG_CACHE_HOME": "~nobody/xc"}),
    Scenario("XDG_CACHE_HOME with a trailing slash", env={"XDG_CACHE_HOME": "{tmp}/xc/"}),
    Scenario("XDG_CACHE_HOME is .", env={"XDG_CACHE_HOME": "."}),
    # XDG_CONFIG_HOME: the same forms, with a file wherever a version would read one
    Scenario(
        "XDG_CONFIG_HOME empty",
        env={"XDG_CONFIG_HOME": ""},
        files={W + "/pip/pip.conf": C.format(v="{tmp}/rel"), U: C.format(v="{tmp}/dflt")},
    ),
    Scenario(
        "XDG_CONFIG_HOME blank",
        env={"XDG_CONFIG_HOME": "  "},
        files={W + "/  /pip/pip.conf": C.format(v="{tmp}/rel"), U: C.format(v="{tmp}/dflt")},
    ),
    Scenario(
        "XDG_CONFIG_HOME padded",
        env={"XDG_CONFIG_HOME": " {tmp}/xcfg "},
        files={
            "{tmp}/xcfg/pip/pip.conf": C.format(v="{tmp}/stripped"),
            W + "/ {tmp}/xcfg /pip/pip.conf": C.format(v="{tmp}/padded"),
            U: C.format(v="{tmp}/dflt"),
        },
    ),
    Scenario(
        "XDG_CONFIG_HOME ~-prefixed",
        env={"XDG_CONFIG_HOME": "~/xcfg"},
        files={
            "{home}/xcfg/pip/pip.conf": C.format(v="{tmp}/expanded"),
            W + "/~/xcfg/pip/pip.conf": C.format(v="{tmp}/literal"),
            U: C.format(v="{tmp}/dflt"),
        },
    ),
    Scenario(
        "XDG_CONFIG_HOME with a trailing slash",
        env={"XDG_CONFIG_HOME": "{tmp}/xcfg/"},
        files={"{tmp}/xcfg/pip/pip.conf": C.format(v="{tmp}/xcfg-value")},
    ),
    # XDG_CONFIG_DIRS: empty, blank, empty entries, padded, ~, relative, /, unset
    Scenario(
        "XDG_CONFIG_DIRS empty",
        env={"XDG_CONFIG_DIRS": ""},
        files={
            W + "/pip/pip.conf": C.format(v="{tmp}/rel"),
            W + "/pip.conf": C.format(v="{tmp}/cwd"),
        },
    ),
    Scenario(
        "XDG_CONFIG_DIRS blank",
        env={"XDG_CONFIG_DIRS": "  "},
        files={
            W + "/  /pip/pip.conf": C.format(v="{tmp}/rel"),
            W + "/pip.conf": C.format(v="{tmp}/cwd"),
        },
    ),
    Scenario(
        "XDG_CONFIG_DIRS only a colon",
        env={"XDG_CONFIG_DIRS": ":"},
        files={
            W + "/pip/pip.conf": C.format(v="{tmp}/rel"),
            W + "/pip.conf": C.format(v="{tmp}/cwd"),
        },
    ),
    Scenario(
        "XDG_CONFIG_DIRS with a trailing empty entry",
        env={"XDG_CONFIG_DIRS": "{tmp}/xdgsys:"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g1"),
            W + "/pip/pip.conf": C.format(v="{tmp}/rel"),
            W + "/pip.conf": C.format(v="{tmp}/cwd"),
        },
    ),
    Scenario(
        "XDG_CONFIG_DIRS with a leading empty entry",
        env={"XDG_CONFIG_DIRS": ":{tmp}/xdgsys"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": "[cache]\ntimeout = 5\n",
            W + "/pip/pip.conf": C.format(v="{tmp}/rel"),
            W + "/pip.conf": C.format(v="{tmp}/cwd"),
        },
    ),
    Scenario(
        "XDG_CONFIG_DIRS with an empty entry in the middle",
        env={"XDG_CONFIG_DIRS": "{tmp}/xdgsys::{tmp}/xdgsys2"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g1"),
            "{tmp}/xdgsys2/pip/pip.conf": "[global]\ntimeout = 5\n",
            W + "/pip/pip.conf": C.format(v="{tmp}/rel"),
        },
    ),
    Scenario(
        "XDG_CONFIG_DIRS padded",
        env={"XDG_CONFIG_DIRS": " {tmp}/xdgsys : {tmp}/xdgsys2 "},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g1"),
            "{tmp}/xdgsys2/pip/pip.conf": C.format(v="{tmp}/g2"),
            "{tmp}/xdgsys /pip/pip.conf": C.format(v="{tmp}/g1-padded"),
            W + "/ {tmp}/xdgsys2/pip/pip.conf": C.format(v="{tmp}/g2-padded"),
            W + "/ {tmp}/xdgsys2 /pip/pip.conf": C.format(v="{tmp}/g2-both-padded"),
        },
    ),
    Scenario(
        "XDG_CONFIG_DIRS with a ~ entry",
        env={"XDG_CONFIG_DIRS": "{tmp}/xdgsys:~/gx"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g1"),
            "{home}/gx/pip/pip.conf": C.format(v="{tmp}/expanded"),
            W + "/~/gx/pip/pip.conf": C.format(v="{tmp}/literal"),
        },
    ),
    Scenario(
        "XDG_CONFIG_DIRS is ~",
        env={"XDG_CONFIG_DIRS": "~"},
        files={
            "{home}/pip/pip.conf": C.format(v="{tmp}/expanded"),
            W + "/~/pip/pip.conf": C.format(v="{tmp}/literal"),
        },
    ),
    Scenario(
        "XDG_CONFIG_DIRS with a / entry",
        env={"XDG_CONFIG_DIRS": "{tmp}/xdgsys:/"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g1"),
            W + "/pip/pip.conf": C.format(v="{tmp}/rel"),
        },
    ),
    Scenario(
        "XDG_CONFIG_DIRS entry with a trailing slash",
        env={"XDG_CONFIG_DIRS": "{tmp}/xdgsys/"},
        files={"{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g1")},
    ),
    Scenario(
        "XDG_CONFIG_DIRS unset",
        env={"XDG_CONFIG_DIRS": None},
        files={W + "/pip/pip.conf": C.format(v="{tmp}/rel")},
    ),
    Scenario(
        "XDG_CONFIG_DIRS relative and ~ entries last",
        env={"XDG_CONFIG_DIRS": "{tmp}/xdgsys:relsys"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g1"),
            W + "/relsys/pip/pip.conf": C.format(v="{tmp}/relsys"),
        },
    ),
    # HOME: empty, unset, relative, /, trailing slash
    Scenario("HOME empty", env={"HOME": ""}),
    Scenario("HOME empty with XDG_CACHE_HOME", env={"HOME": "", "XDG_CACHE_HOME": "{tmp}/xc"}),
    Scenario("HOME unset", env={"HOME": None}),
    Scenario("HOME relative", env={"HOME": "relhome"}),
    Scenario(
        "HOME relative finds its config below the working dir",
        env={"HOME": "relhome"},
        files={W + "/relhome/.config/pip/pip.conf": C.format(v="{tmp}/relhome-cfg")},
    ),
    Scenario("HOME is /", env={"HOME": "/"}),
    Scenario("HOME with a trailing slash", env={"HOME": "{tmp}/home/"}),
    # keys spelled twice
    Scenario(
        "cache-dir and CACHE-DIR in one section",
        files={U: "[global]\ncache-dir = {tmp}/a\nCACHE-DIR = {tmp}/b\n"},
    ),
    Scenario(
        "--cache-dir and cache-dir in one section",
        files={U: "[global]\n--cache-dir = {tmp}/a\ncache-dir = {tmp}/b\n"},
    ),
    Scenario(
        "cache-dir twice in one section",
        files={U: "[cache]\ncache-dir = {tmp}/a\ncache-dir = {tmp}/b\n"},
    ),
    Scenario(
        "[global] twice in one file",
        files={U: "[global]\ncache-dir = {tmp}/a\n[global]\ntimeout = 3\n"},
    ),
    Scenario(
        "cache_dir in one file, cache-dir in a later one",
        files={U: "[global]\ncache_dir = {tmp}/u\n", "{venv}/pip.conf": C.format(v="{tmp}/site")},
    ),
    Scenario("no_cache_dir spelled with underscores", files={U: "[cache]\nno_cache_dir = yes\n"}),
    # empty values overriding earlier ones
    Scenario(
        "empty cache-dir in [cache] leaves [global]",
        files={U: "[global]\ncache-dir = {tmp}/g\n[cache]\ncache-dir =\n"},
    ),
    Scenario(
        "empty no-cache-dir in a later file after a valid one",
        files={U: "[global]\nno-cache-dir = 1\n", "{venv}/pip.conf": "[global]\nno-cache-dir =\n"},
    ),
    Scenario(
        "empty no-cache-dir in a later file after an invalid one",
        files={
            U: "[global]\nno-cache-dir = maybe\n",
            "{venv}/pip.conf": "[global]\nno-cache-dir =\n",
        },
    ),
    Scenario(
        "valid no-cache-dir in a later file after an invalid one",
        env={"PIP_CACHE_DIR": "{tmp}/var"},
        files={
            U: "[cache]\nno-cache-dir = maybe\n",
            "{venv}/pip.conf": "[cache]\nno-cache-dir = 1\n",
        },
    ),
    Scenario(
        "empty PIP_CACHE_DIR leaves a config value",
        env={"PIP_CACHE_DIR": ""},
        files={U: C.format(v="{tmp}/u")},
    ),
    Scenario(
        "empty global value before a user value",
        files={"{tmp}/xdgsys/pip/pip.conf": "[global]\ncache-dir =\n", U: C.format(v="{tmp}/u")},
    ),
    Scenario(
        "empty value in PIP_CONFIG_FILE after the site value",
        env={"PIP_CONFIG_FILE": "{tmp}/envfile.conf"},
        files={
            "{venv}/pip.conf": C.format(v="{tmp}/site"),
            "{tmp}/envfile.conf": "[global]\ncache-dir =\n",
        },
    ),
    Scenario(
        "empty cache_dir spelled differently in a later file",
        files={U: C.format(v="{tmp}/u"), "{venv}/pip.conf": "[global]\ncache_dir =\n"},
    ),
    Scenario(
        "empty [cache] value in a later file after a [cache] value",
        files={U: "[cache]\ncache-dir = {tmp}/uc\n", "{venv}/pip.conf": "[cache]\ncache-dir =\n"},
    ),
    # variables
    Scenario("PIP_CACHE_DIR padded with spaces", env={"PIP_CACHE_DIR": " {tmp}/sp "}),
    Scenario("PIP_CACHE_DIR with a space inside", env={"PIP_CACHE_DIR": "{tmp}/a b/c"}),
    Scenario("PIP_CACHE_DIR ~user", env={"PIP_CACHE_DIR": "~root/rc"}),
    Scenario("PIP_CACHE_DIR ~ of an unknown user", env={"PIP_CACHE_DIR": "~no-such-user-cc/c"}),
    Scenario("PIP_CACHE_DIR is /", env={"PIP_CACHE_DIR": "/"}),
    Scenario("PIP_CACHE_DIR with a trailing slash", env={"PIP_CACHE_DIR": "{tmp}/ts/"}),
    Scenario("PIP_CACHE_DIR with a double slash", env={"PIP_CACHE_DIR": "/{tmp}//dd"}),
    Scenario("PIP_CACHE_DIR with $HOME is not expanded", env={"PIP_CACHE_DIR": "$HOME/x"}),
    Scenario("PIP_CACHE_DIR with rich markup", env={"PIP_CACHE_DIR": "{tmp}/[bold]x[/bold]"}),
    Scenario(
        "PIP_NO_CACHE_DIR=0 beats PIP_CACHE_DIR",
        env={"PIP_NO_CACHE_DIR": "0", "PIP_CACHE_DIR": "{tmp}/var"},
    ),
    Scenario("PIP_NO_CACHE_DIR padded is invalid", env={"PIP_NO_CACHE_DIR": " 1 "}),
    Scenario("PIP_NO_CACHE_DIR=TRUE", env={"PIP_NO_CACHE_DIR": "TRUE"}),
    Scenario("PIP_HELP and PIP_VERSION are ignored", env={"PIP_HELP": "1", "PIP_VERSION": "1"}),
    Scenario(
        "PIP_ISOLATED does not skip config files",
        env={"PIP_ISOLATED": "1"},
        files={U: C.format(v="{tmp}/u")},
    ),
    Scenario("lowercase pip_cache_dir is not pip's", env={"pip_cache_dir": "{tmp}/lower"}),
    Scenario("PIP_CACHE-DIR spelled with a dash", env={"PIP_CACHE-DIR": "{tmp}/dash"}),
    Scenario("PIP_--CACHE-DIR", env={"PIP_--CACHE-DIR": "{tmp}/dashdash"}),
    Scenario(
        "PIP_CACHE_DIR beats a [cache] value in PIP_CONFIG_FILE",
        env={"PIP_CONFIG_FILE": "{tmp}/envfile.conf", "PIP_CACHE_DIR": "{tmp}/var"},
        files={"{tmp}/envfile.conf": "[cache]\ncache-dir = {tmp}/envc\n"},
    ),
    # config layers and sections
    Scenario(
        "[wheel] section does not apply to pip cache",
        files={U: "[wheel]\ncache-dir = {tmp}/w\n"},
    ),
    Scenario(
        "[download] section does not apply to pip cache",
        files={U: "[download]\ncache-dir = {tmp}/dl\n"},
    ),
    Scenario("[Global] is not [global]", files={U: "[Global]\ncache-dir = {tmp}/G\n"}),
    Scenario("[:env:] section in a file", files={U: "[:env:]\ncache-dir = {tmp}/colonenv\n"}),
    Scenario(
        "[DEFAULT] alone reaches no section",
        files={U: "[DEFAULT]\ncache-dir = {tmp}/d\n"},
    ),
    Scenario(
        "user [cache] beats site [global]",
        files={U: "[cache]\ncache-dir = {tmp}/uc\n", "{venv}/pip.conf": C.format(v="{tmp}/site")},
    ),
    Scenario(
        "[install] in PIP_CONFIG_FILE does not apply",
        env={"PIP_CONFIG_FILE": "{tmp}/envfile.conf"},
        files={"{tmp}/envfile.conf": "[install]\ncache-dir = {tmp}/envi\n"},
    ),
    Scenario(
        "PIP_CONFIG_FILE naming the site file",
        env={"PIP_CONFIG_FILE": "{venv}/pip.conf"},
        files={"{venv}/pip.conf": C.format(v="{tmp}/site"), U: C.format(v="{tmp}/u")},
    ),
    Scenario(
        "PIP_CONFIG_FILE naming the user file",
        env={"PIP_CONFIG_FILE": U},
        files={U: C.format(v="{tmp}/u"), "{venv}/pip.conf": C.format(v="{tmp}/site")},
    ),
    Scenario(
        "PIP_CONFIG_FILE naming a global file, with a user value",
        env={"PIP_CONFIG_FILE": "{tmp}/xdgsys/pip/pip.conf"},
        files={"{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g"), U: C.format(v="{tmp}/u")},
    ),
    Scenario(
        "PIP_CONFIG_FILE naming a global file, set empty in the site file",
        env={"PIP_CONFIG_FILE": "{tmp}/xdgsys/pip/pip.conf"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g"),
            "{venv}/pip.conf": "[global]\ncache-dir =\n",
        },
    ),
    Scenario(
        "PIP_CONFIG_FILE=/etc/pip.conf with a site value",
        env={"PIP_CONFIG_FILE": "/etc/pip.conf"},
        files={"{venv}/pip.conf": C.format(v="{tmp}/site")},
    ),
    Scenario(
        "PIP_CONFIG_FILE is a directory",
        env={"PIP_CONFIG_FILE": "{tmp}/adir"},
        files={U: C.format(v="{tmp}/u"), "{tmp}/adir/": ""},
    ),
    Scenario(
        "PIP_CONFIG_FILE empty", env={"PIP_CONFIG_FILE": ""}, files={U: C.format(v="{tmp}/u")}
    ),
    Scenario(
        "PIP_CONFIG_FILE=//dev/null reads the device",
        env={"PIP_CONFIG_FILE": "//dev/null"},
        files={U: C.format(v="{tmp}/u")},
    ),
    Scenario(
        "a file both global and user keeps its global place",
        env={"XDG_CONFIG_DIRS": "{tmp}/shared", "XDG_CONFIG_HOME": "{tmp}/shared"},
        files={
            "{tmp}/shared/pip/pip.conf": C.format(v="{tmp}/shared-value"),
            "{home}/.pip/pip.conf": C.format(v="{tmp}/legacy"),
        },
    ),
    Scenario(
        "a global dir listed twice, set empty in between",
        env={"XDG_CONFIG_DIRS": "{tmp}/xdgsys:{tmp}/xdgsys2:{tmp}/xdgsys"},
        files={
            "{tmp}/xdgsys/pip/pip.conf": C.format(v="{tmp}/g1"),
            "{tmp}/xdgsys2/pip/pip.conf": "[global]\ncache-dir =\n",
        },
    ),
    # what the files hold
    Scenario(
        "an inline comment is part of the value",
        files={U: "[global]\ncache-dir = {tmp}/ic # note\n"},
    ),
    Scenario("a quoted value keeps its quotes", files={U: '[global]\ncache-dir = "{tmp}/q"\n'}),
    Scenario("%(here)s is not interpolated", files={U: "[global]\ncache-dir = %(here)s/x\n"}),
    Scenario(
        "an indented line continues the previous value",
        files={U: "[global]\nproxy = p\n  cache-dir = {tmp}/cont\n"},
    ),
    Scenario(
        "a byte-order mark before the first section",
        files={U: b"\xef\xbb\xbf[global]\ncache-dir = /bom\n"},
    ),
    Scenario(
        "a latin-1 byte in a comment",
        files={U: b"# caf\xe9\n[global]\ncache-dir = /latin\n"},
    ),
    Scenario("an empty config file", files={U: ""}),
    Scenario("a section header alone", files={U: "[cache]\n"}),
    Scenario("a directory where pip.conf would be", files={U + "/": ""}),
    Scenario(
        "a dangling symlink as pip.conf",
        links={U: "{tmp}/nowhere.conf"},
        files={"{home}/.config/pip/.keep": ""},
    ),
    Scenario(
        "pip.conf symlinked to a file",
        links={U: "{tmp}/real.conf"},
        files={"{tmp}/real.conf": C.format(v="{tmp}/via-link"), "{home}/.config/pip/.keep": ""},
    ),
    Scenario(
        "value with a tab and trailing spaces",
        files={U: "[global]\ncache-dir =\t{tmp}/tab   \n"},
    ),
    Scenario("key with spaces around a colon", files={U: "[global]\ncache-dir  :  {tmp}/colon\n"}),
    Scenario("PIP_CACHE_DIR relative with ..", env={"PIP_CACHE_DIR": "../up/cache"}),
    Scenario("working dir elsewhere", env={"PIP_CACHE_DIR": "rel"}, cwd="{tmp}/other"),
]


def _fill(text: str, tmp: Path, home: Path, venv: Path) -> str:
    return text.format(tmp=tmp, home=home, venv=venv)


@pytest.fixture(params=[PIP_NEW], ids=lambda v: f"pip{v}")
def venv_python(request: pytest.FixtureRequest, pip_venv: Callable[[str], Path]) -> Path:
    return pip_venv(request.param)


@pytest.fixture
def site_conf(venv_python: Path) -> Iterator[Path]:
    """The venv's own pip.conf, removed after every test (venvs are shared)."""
    conf = venv_python.parent.parent / "pip.conf"
    conf.unlink(missing_ok=True)
    yield conf
    conf.unlink(missing_ok=True)


def _base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env.update(HOME=str(tmp / "home"), XDG_CONFIG_DIRS=str(tmp / "xdgsys"))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _build(scenario: Scenario, tmp: Path, venv: Path) -> tuple[dict[str, str], Path]:
    """Lay the scenario's files out under ``tmp`` (the site file in ``venv``); its variables
    and working directory."""
    home = tmp / "home"
    cwd = Path(_fill(scenario.cwd, tmp, home, venv))
    for path in (home, tmp / "work", tmp / "xdgsys", tmp / "otherhome", cwd):
        path.mkdir(parents=True, exist_ok=True)
    for template, content in scenario.files.items():
        path = Path(_fill(template, tmp, home, venv))
        if template.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(_fill(content, tmp, home, venv))
    for link, target in scenario.links.items():
        os.symlink(_fill(target, tmp, home, venv), _fill(link, tmp, home, venv))
    for template in scenario.chown_nobody:
        path = Path(_fill(template, tmp, home, venv))
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, 65534, 65534)
    env = _base_env(tmp)
    for key, value in scenario.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = _fill(value, tmp, home, venv)
    return env, cwd


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Exit status and stdout without its one closing newline (a path's own trailing
    spaces are part of what is compared)."""
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    return proc.returncode, proc.stdout.removesuffix("\n")


def _run_both(
    pip_argv: list[str], our_argv: list[str], env: dict[str, str], cwd: Path
) -> tuple[tuple[int, str], tuple[int, str]]:
    """Real pip and real cachecensus at once (both cores)."""
    with ThreadPoolExecutor(2) as pool:
        pip = pool.submit(_run, pip_argv, env, cwd)
        ours = pool.submit(_run, our_argv, env, cwd)
        return pip.result(), ours.result()


@pytest.mark.slow
@pytest.mark.parametrize("scenario", S, ids=[s.name for s in S])
def test_dir_matches_pip(
    scenario: Scenario, venv_python: Path, site_conf: Path, tmp_path: Path
) -> None:
    """The real CLI against the real ``pip cache dir`` of the newest pip, every scenario
    (the matrix below runs them for every pip version through pip's own code)."""
    if scenario.chown_nobody and os.geteuid() != 0:
        pytest.skip("the ownership scenarios need root (CI runs as root)")
    venv = venv_python.parent.parent
    env, cwd = _build(scenario, tmp_path, venv)
    (pip_rc, pip_out), (our_rc, our_out) = _run_both(
        [str(venv_python), "-m", "pip", "cache", "dir"],
        [CACHECENSUS, "dir", "--python", str(venv_python)],
        env,
        cwd,
    )
    assert our_out == pip_out, f"{scenario.name}: pip said {pip_out!r}, we said {our_out!r}"
    assert (pip_rc == 0) == (our_rc == 0), f"{scenario.name}: exit {pip_rc} vs {our_rc}"
    if pip_rc == 0:
        assert Path(pip_out).is_absolute()


def test_scenario_count() -> None:
    assert len(S) >= 133  # issue 16's matrix had 133 scenarios; every one is kept here
    assert len({s.name for s in S}) == len(S)


# ---------------------------------------------------------------------------- the matrix
#
# Every scenario against every pip version people run. A real ``pip cache dir`` costs
# about 0.3 s of interpreter and pip start-up, so the matrix asks pip's own code in one
# long-lived interpreter per version (tests/support/pip_batch.py: pip's ``main(["cache",
# "dir"])`` with the scenario's variables and working directory), and asks cachecensus the
# way ``dir`` does, in this process. Both shortcuts are checked on every run: a sample of
# scenarios of every version (rotating: CACHECENSUS_MATRIX_SEED repeats one) also runs the
# real ``pip cache dir`` and the real ``cachecensus dir``, which must say the same.

#: pip versions of the matrix: 19.3.1 has no ``pip cache``; the others are the versions
#: issue 16 names, with 24.2 and 25.2 (where vendored platformdirs and the merging changed).
MATRIX = (
    "19.3.1",
    "20.3.4",
    "21.3.1",
    "22.3.1",
    "23.0.1",
    "23.2.1",
    "23.3.2",
    "24.0",
    "24.2",
    "24.3.1",
    "25.0.1",
    "25.2",
    "25.3",
    "26.0.1",
    "26.2.1",
    "26.3",
)
#: Scenarios checked against the real commands in every run, besides the rotating sample.
ALWAYS_REAL = ("default", "PIP_CACHE_DIR padded with spaces", "XDG_CONFIG_DIRS padded")
SAMPLE = 4
BATCH = str(Path(__file__).resolve().parent / "support" / "pip_batch.py")


class PipBatch:
    """One interpreter of one pip version answering ``pip cache dir`` for scenario after
    scenario (tests/support/pip_batch.py)."""

    def __init__(self, python: Path) -> None:
        self.proc = subprocess.Popen(
            [str(python), BATCH],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        )

    def send(self, env: dict[str, str], cwd: Path) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"env": env, "cwd": str(cwd)}) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> tuple[int, str]:
        assert self.proc.stdout is not None
        answer = json.loads(self.proc.stdout.readline())
        return answer["rc"], answer["out"].removesuffix("\n")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _ours(python: Path, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """What ``cachecensus dir --python PYTHON`` prints and exits with, asked in-process the
    way cli/dirs.py asks (the real CLI checks this on the sample)."""
    from cachecensus.discover.interpreter import inspect_interpreter
    from cachecensus.host import Host
    from cachecensus.resolve.pip import resolve_pip

    host = Host(root="/", env=env, euid=os.geteuid(), platform=sys.platform)
    who = host.current_user()
    found = inspect_interpreter(host, str(python), found_by="--python")
    res = resolve_pip(
        host,
        user=who,
        env=env,
        prefix=found.prefix,
        view="cache",
        cwd=str(cwd),
        euid=who.uid,
        pip_version=found.pip_version,
    )
    if res.error is not None or res.cache_dir is None:
        return 1, ""
    return 0, res.cache_dir


def _same(a: tuple[int, str], b: tuple[int, str]) -> bool:
    return a[1] == b[1] and (a[0] == 0) == (b[0] == 0)


def _pip_bug(version: str, pips: tuple[int, str], ours: tuple[int, str]) -> str | None:
    """The upstream bug of this pip version that makes it print something other than the
    directory it uses, when that is the whole difference; None otherwise."""
    if (
        Version("22.0") <= Version(version) < Version("26.3")
        and pips[0] == ours[0] == 0
        and ours[1] != ours[1].rstrip()
        and pips[1] == ours[1].rstrip()
        and len(ours[1]) > int(os.environ.get("COLUMNS", "80"))
    ):
        # pip 22.0 logs through the rich it vendors; rich < 15 drops a soft-wrapped line's
        # trailing whitespace (Textualize/rich#3841, fixed by rich#3937 in rich 15.0.0,
        # vendored from pip 26.3 on): a cache dir ending in spaces, wider than the
        # terminal, is printed without them. pip uses the directory with them.
        return "rich#3841: trailing spaces of a line wider than the terminal dropped"
    return None


@pytest.fixture(scope="session")
def matrix_venvs(pip_venvs: Callable[[Sequence[str]], dict[str, Path]]) -> dict[str, Path]:
    return pip_venvs(MATRIX)


@pytest.mark.slow
@pytest.mark.parametrize("version", MATRIX)
def test_matrix(version: str, matrix_venvs: dict[str, Path], tmp_path: Path) -> None:
    """cachecensus says what this pip version says in every scenario; the sampled
    scenarios say the same through the real commands."""
    python = matrix_venvs[version]
    venv = python.parent.parent
    site = venv / "pip.conf"
    seed = os.environ.get("CACHECENSUS_MATRIX_SEED") or str(time.time_ns())
    runnable = [s for s in S if not (s.chown_nobody and os.geteuid() != 0)]
    sample = set(random.Random(f"{seed}/{version}").sample(range(len(runnable)), SAMPLE))
    sample |= {i for i, s in enumerate(runnable) if s.name in ALWAYS_REAL}
    differ: list[str] = []
    documented: list[str] = []  # pip's own bugs (the directory it prints is not the one it uses)
    shortcut: list[str] = []
    batch = PipBatch(python)
    try:
        for i, scenario in enumerate(runnable):
            tmp = tmp_path / str(i)
            site.unlink(missing_ok=True)
            env, cwd = _build(scenario, tmp, venv)
            batch.send(env, cwd)  # pip works while we do
            ours = _ours(python, env, cwd)
            pips = batch.receive()
            if not _same(pips, ours):
                bug = _pip_bug(version, pips, ours)
                if bug is None:
                    differ.append(f"{scenario.name}: pip {pips}, cachecensus {ours}")
                else:
                    documented.append(f"{scenario.name}: {bug}")
            if i in sample:
                real_pip, real_ours = _run_both(
                    [str(python), "-m", "pip", "cache", "dir"],
                    [CACHECENSUS, "dir", "--python", str(python)],
                    env,
                    cwd,
                )
                if not _same(real_pip, pips):
                    shortcut.append(f"{scenario.name}: pip {real_pip}, pip_batch {pips}")
                if not _same(real_ours, ours):
                    shortcut.append(f"{scenario.name}: cli {real_ours}, in-process {ours}")
    finally:
        batch.close()
        site.unlink(missing_ok=True)
    agree = len(runnable) - len(differ) - len(documented)
    record = {"version": version, "scenarios": len(runnable), "agree": agree}
    record["documented pip bugs"] = documented
    (WORK / "pip-matrix").mkdir(parents=True, exist_ok=True)
    (WORK / "pip-matrix" / f"{version}.json").write_text(json.dumps(record) + "\n")
    assert not shortcut, f"the shortcuts disagree with the real commands (seed {seed}): {shortcut}"
    assert not differ, f"pip {version}: {len(differ)} of {len(runnable)} differ: " + "; ".join(
        differ
    )


def test_install_view_is_where_downloads_land(
    pip_venv: Callable[[str], Path], loopback_index: str, tmp_path: Path
) -> None:
    """``--for download`` names the directory a real ``pip download`` fills (its
    [download] section differs from [cache])."""
    python = pip_venv(PIP_NEW)
    home = tmp_path / "home"
    (home / ".config" / "pip").mkdir(parents=True)
    (home / ".config" / "pip" / "pip.conf").write_text(
        f"[cache]\ncache-dir = {tmp_path}/cache-view\n"
        f"[download]\ncache-dir = {tmp_path}/download-view\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env.update(HOME=str(home), PIP_DISABLE_PIP_VERSION_CHECK="1")
    rc, ours = _run(
        [CACHECENSUS, "dir", "--python", str(python), "--for", "download"], env, tmp_path
    )
    assert rc == 0 and ours == f"{tmp_path}/download-view"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "download",
            "--no-deps",
            "-d",
            str(tmp_path / "out"),
            "--index-url",
            loopback_index,
            "--trusted-host",
            "127.0.0.1",
            "six==1.16.0",
        ],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    written = {p.name for p in (tmp_path / "download-view" / "http-v2").rglob("*") if p.is_file()}
    assert written, "pip download wrote nothing where --for download said"
    assert not (tmp_path / "cache-view").exists()


def test_json_layout(pip_venv: Callable[[str], Path], tmp_path: Path) -> None:
    import json

    python = pip_venv(PIP_NEW)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env.update(HOME=str(tmp_path), PIP_CACHE_DIR=str(tmp_path / "c"), PIP_NO_CACHE_DIR="")
    rc, out = _run([CACHECENSUS, "dir", "--python", str(python), "--json"], env, tmp_path)
    doc = json.loads(out)
    assert rc == 0 and doc["schema"] == 1 and doc["cache_dir"] == f"{tmp_path}/c"
    assert doc["disabled"] is False and doc["view"] == "cache"
    effective = [d for d in doc["decided_by"] if d["effective"]]
    assert [d["where"] for d in effective] == ["PIP_CACHE_DIR"]
    assert doc["decided_by"][0]["source"] == "default"


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    for argv in (
        [CACHECENSUS, "dir", "--python", str(tmp_path / "missing")],
        [CACHECENSUS, "dir", "--user", "no-such-user-here"],
        [CACHECENSUS, "dir", "--for", "bogus"],
    ):
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == 2, argv
        assert "Traceback" not in proc.stderr
        assert proc.stderr.strip()


@pytest.mark.parametrize("version", [PIP_NEW, PIP_OLD])
def test_the_error_names_the_file_pip_names(
    version: str, pip_venv: Callable[[str], Path], tmp_path: Path
) -> None:
    """With two malformed files pip exits on the first it reads: a global file for pip 26,
    the PIP_CONFIG_FILE file for pip 23.2 (which read it first)."""
    python = pip_venv(version)
    (tmp_path / "xdgsys" / "pip").mkdir(parents=True)
    (tmp_path / "xdgsys" / "pip" / "pip.conf").write_text("[global]\nbad-global\n")
    (tmp_path / "env.conf").write_text("[global]\nbad-env\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_DIRS=str(tmp_path / "xdgsys"),
        PIP_CONFIG_FILE=str(tmp_path / "env.conf"),
    )
    pip = subprocess.run(
        [str(python), "-m", "pip", "cache", "dir"], env=env, capture_output=True, text=True
    )
    ours = subprocess.run(
        [CACHECENSUS, "dir", "--python", str(python)], env=env, capture_output=True, text=True
    )
    assert pip.returncode != 0 and ours.returncode != 0 and not ours.stdout
    named = "env.conf" if version == PIP_OLD else "xdgsys/pip/pip.conf"
    assert f"{named}'" in pip.stderr
    (error,) = [line for line in ours.stderr.splitlines() if "pip would fail" in line]
    assert f"{tmp_path}/{named}:2: cannot parse 'bad-" in error


def _system_python_with_pip() -> str | None:
    """A system interpreter (readable by every user) whose own pip runs."""
    for name in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(name):
            check = subprocess.run([name, "-m", "pip", "--version"], capture_output=True)
            if check.returncode == 0:
                return name
    return None


def _other_nobody_processes() -> bool:
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info.get("uids")
        if uids is not None and uids.effective == 65534:
            return True
    return False


def test_user_view_matches_pip_run_as_that_user() -> None:
    """``sudo cachecensus dir --user nobody``: a running process of nobody's has its own
    ``HOME``; ``dir`` answers for nobody's login and names that process's cache under
    ``elsewhere`` (with its PID), where nobody's config file in that ``HOME`` decides and
    the ownership check is nobody's — equal to what pip says when nobody runs it with
    those variables, before and after the directory becomes nobody's."""
    python = _system_python_with_pip()
    if os.geteuid() != 0 or shutil.which("setpriv") is None or python is None:
        pytest.skip("needs root, setpriv and a system python3 with pip")
    if _other_nobody_processes():
        pytest.skip("another process of nobody would lend us its variables")
    base = Path(tempfile.mkdtemp(prefix="cachecensus-nobody-", dir="/tmp"))
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "-i"]
    env = ["PATH=/usr/bin:/bin", f"HOME={base}/home", "PIP_DISABLE_PIP_VERSION_CHECK=1"]
    sleeper = None
    try:
        base.chmod(0o755)
        (base / "home" / ".config" / "pip").mkdir(parents=True)
        (base / "shared").mkdir()
        (base / "home" / ".config" / "pip" / "pip.conf").write_text(
            f"[cache]\ncache-dir = {base}/shared/pip\n"
        )
        os.chown(base / "home", 65534, 65534)
        sleeper = subprocess.Popen([*drop, *env, "sleep", "300"])
        for _ in range(200):  # until its variables are readable (exec'd into sleep)
            try:
                if "HOME" in psutil.Process(sleeper.pid).environ():
                    break
            except psutil.Error:
                pass
            time.sleep(0.01)
        ours_argv = [CACHECENSUS, "dir", "--python", python, "--user", "nobody", "--json"]
        path_only = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for owner in (0, 65534):  # /shared is root's: nobody cannot write; then nobody's
            os.chown(base / "shared", owner, owner)
            pip_argv = [*drop, *env, python, "-m", "pip", "cache", "dir"]
            pip_rc, pip_out = _run(pip_argv, path_only, base)
            _, our_out = _run(ours_argv, dict(os.environ), base)
            elsewhere = json.loads(our_out)["elsewhere"]
            theirs = [pip_out] if pip_rc == 0 else []
            assert [e["cache_dir"] for e in elsewhere] == theirs, owner
            assert all(f"PID {sleeper.pid} (sleep)" in e["origin"] for e in elsewhere)
        assert theirs == [f"{base}/shared/pip"]
    finally:
        if sleeper is not None:
            sleeper.terminate()
            sleeper.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)
