"""conda / mamba / micromamba: where packages go (resolver) and what a package dir holds.

conda, mamba and micromamba could not run here (none is installable from PyPI or this
machine's Debian), so:

- the resolver is tested on fake roots (``Host(root=tmp)``) against the rules read from
  conda's source (``base/constants.py`` SEARCH_PATH, ``base/context.py`` pkgs_dirs,
  ``common/configuration.py`` sequence merging, ``core/package_cache_data.py``
  first_writable) and libmamba's ``api/configuration.cpp``;
- package dirs are built from *real* package files made by ``conda-package-handling``
  (``cph create`` / ``cph extract``, conda's own library for the formats), laid out as conda
  lays out ``pkgs/`` (package files, extracted dirs with ``info/repodata_record.json``,
  ``urls.txt``, ``urls``, ``cache/``), with an environment hard-linked from an extracted dir
  (``os.link``, as conda links) to prove the link-count rule of ``conda clean --packages``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cachecensus.caches import conda as fmt
from cachecensus.caches import detect
from cachecensus.host import Host
from cachecensus.models import Kind, User
from cachecensus.resolve.conda import parse_rc, resolve_conda

WORK = Path(
    os.environ.get("CACHECENSUS_TEST_WORK", Path(__file__).parent.parent / ".venv" / "test-work")
)
ME = os.getuid() or 1000


# ---------------------------------------------------------------------- resolver


class Machine:
    """A fake root with ``alice`` and a conda installed at ``/opt/conda``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.alice = User("alice", ME, ME, "/home/alice", "/bin/sh")
        self.write(
            "/etc/passwd", f"root:x:0:0::/root:/bin/sh\nalice:x:{ME}:{ME}::/home/alice:/bin/sh\n"
        )
        self.write("/etc/group", f"root:x:0:\nalice:x:{ME}:\n")
        (root / "home/alice").mkdir(parents=True)
        (root / "opt/conda/pkgs").mkdir(parents=True)
        if os.geteuid() == 0:  # alice owns the fake "/" and her home, as a user would
            os.chown(root, ME, ME)
            os.chown(root / "home/alice", ME, ME)
        self.host = Host(root=str(root), env={}, euid=0)

    def write(self, path: str, text: str) -> Path:
        real = self.root / path.lstrip("/")
        real.parent.mkdir(parents=True, exist_ok=True)
        real.write_text(text)
        return real

    def resolve(self, env: dict[str, str] | None = None, **kw: object) -> list[tuple[str, str]]:
        got = resolve_conda(
            self.host,
            user=self.alice,
            env={"HOME": "/home/alice", **(env or {})},
            **kw,  # type: ignore[arg-type]
        )
        return [(r.cache_dir or "", r.reason.split(":")[0]) for r in got]

    def dirs(self, env: dict[str, str] | None = None, **kw: object) -> list[str]:
        return [d for d, _ in self.resolve(env, **kw)]


@pytest.fixture
def box(tmp_path: Path) -> Machine:
    return Machine(tmp_path / "root")


def test_default_is_root_pkgs_then_home_and_writability_decides(box: Machine) -> None:
    magic = box.write("/opt/conda/pkgs/urls.txt", "")
    magic.chmod(0o666)
    got = box.resolve(root_prefix="/opt/conda")
    assert got == [
        ("/opt/conda/pkgs", "writes here"),
        ("/home/alice/.conda/pkgs", "read and writable, but an earlier dir is written (default"),
    ]
    if ME != 0:  # a shared install alice cannot write: conda falls through to her home
        magic.chmod(0o644)
        got = box.resolve(root_prefix="/opt/conda")
        assert got[0] == ("/opt/conda/pkgs", "read only")
        assert got[1] == ("/home/alice/.conda/pkgs", "writes here")


def test_root_prefix_from_conda_exe_and_provenance(box: Machine) -> None:
    box.write("/opt/conda/pkgs/urls.txt", "").chmod(0o666)
    res = resolve_conda(
        box.host, user=box.alice, env={"HOME": "/home/alice", "CONDA_EXE": "/opt/conda/bin/conda"}
    )
    assert res[0].cache_dir == "/opt/conda/pkgs"
    where = [(d.source, d.where, d.effective) for d in res[0].decided_by]
    assert ("default", "root prefix (CONDA_EXE)", False) in where
    assert ("default", "default: <root prefix>/pkgs", True) in where
    assert where[-1] == ("check", "first writable (urls.txt)", True)
    unknown = resolve_conda(box.host, user=box.alice, env={"HOME": "/home/alice"})
    assert [r.cache_dir for r in unknown] == ["/home/alice/.conda/pkgs"]
    assert "root prefix is unknown" in unknown[0].problems[0]


def test_sequence_merge_later_files_first_and_variable_before_all(box: Machine) -> None:
    box.write("/etc/conda/.condarc", "pkgs_dirs:\n  - /srv/site\n")
    box.write(
        "/home/alice/.condarc",
        "channels: [conda-forge]\npkgs_dirs:\n  - ~/mine  # a comment\n  - /srv/site\n",
    )
    env = {"CONDA_PKGS_DIRS": "/scratch/a, /scratch/b"}
    assert box.dirs(env, root_prefix="/opt/conda") == [
        "/scratch/a",
        "/scratch/b",
        "/home/alice/mine",
        "/srv/site",
    ]
    res = resolve_conda(
        box.host, user=box.alice, env={"HOME": "/home/alice", **env}, root_prefix="/opt/conda"
    )
    first = res[0]
    assert first.reason.startswith("writes here")  # /scratch can be created (alice owns "/"?)
    sources = [(d.source, d.where) for d in first.decided_by if d.key == "pkgs_dirs"]
    assert ("config", "/etc/conda/.condarc:1") in sources
    assert ("config", "/home/alice/.condarc:2") in sources
    assert ("env", "CONDA_PKGS_DIRS") in sources
    assert [d.where for d in res[2].decided_by if d.effective] == []  # not written: none effective
    assert [d.where for d in res[2].decided_by if d.where.endswith(".condarc:2")]


def test_final_top_bottom_flags(box: Machine) -> None:
    box.write("/etc/conda/.condarc", "pkgs_dirs:  #!final\n  - /srv/locked\n")
    box.write("/home/alice/.condarc", "pkgs_dirs:\n  - /home/alice/mine\n")
    assert box.dirs({"CONDA_PKGS_DIRS": "/x"}, root_prefix="/opt/conda") == ["/srv/locked"]
    box.write("/etc/conda/.condarc", "pkgs_dirs:\n  - /srv/first  #!top\n  - /srv/other\n")
    box.write("/home/alice/.condarc", "pkgs_dirs:\n  - /srv/last  #!bottom\n  - /home/alice/mine\n")
    assert box.dirs(root_prefix="/opt/conda") == [
        "/srv/first",
        "/home/alice/mine",
        "/srv/other",
        "/srv/last",
    ]
    assert (
        box.dirs({"CONDA_PKGS_DIRS": "/env!important"}, root_prefix="/opt/conda")[0] == "/srv/first"
    )


def test_search_path_members(box: Machine) -> None:
    box.write("/opt/conda/.condarc", "pkgs_dirs: [/from/conda_root]\n")
    box.write("/home/alice/.config/conda/condarc.d/b.yml", "pkgs_dirs: [/from/d_b]\n")
    box.write("/home/alice/.config/conda/condarc.d/a.yaml", "pkgs_dirs: [/from/d_a]\n")
    box.write("/home/alice/.config/conda/condarc.d/ignored.txt", "pkgs_dirs: [/nope]\n")
    box.write("/xdg/conda/condarc", "pkgs_dirs: [/from/xdg]\n")
    box.write("/envs/e1/.condarc", "pkgs_dirs: [/from/prefix]\n")
    box.write("/rc/myrc", "pkgs_dirs: [/from/misnamed]\n")
    env = {"XDG_CONFIG_HOME": "/xdg", "CONDARC": "/rc/myrc"}
    got = box.dirs(env, root_prefix="/opt/conda", prefix="/envs/e1")
    # later sources first: prefix, ~/.config/conda/condarc.d (b after a), $XDG..., $CONDA_ROOT
    assert got == ["/from/prefix", "/from/d_b", "/from/d_a", "/from/xdg", "/from/conda_root"]
    box.write("/rc/site.yml", "pkgs_dirs: [/from/condarc_var]\n")
    got = box.dirs({"CONDARC": "/rc/site.yml"}, root_prefix="/opt/conda", prefix="/envs/e1")
    assert got[0] == "/from/condarc_var"
    # CONDA_ROOT set by the user names another place than the install's own prefix...
    env = {"CONDA_ROOT": "/elsewhere"}
    assert "/from/conda_root" not in box.dirs(env, root_prefix="/opt/conda", prefix="/envs/e1")
    # ...but with no target prefix the root is the target: its .condarc is read as that
    assert box.dirs(env, root_prefix="/opt/conda")[0] == "/from/conda_root"


def test_root_prefix_from_condarc_and_malformed_files(box: Machine) -> None:
    box.write("/home/alice/.condarc", "root_prefix: /srv/conda\n")
    assert box.dirs(root_prefix="/opt/conda") == ["/srv/conda/pkgs", "/home/alice/.conda/pkgs"]
    box.write("/home/alice/.condarc", "pkgs_dirs: /not/a/list\n")
    res = resolve_conda(
        box.host, user=box.alice, env={"HOME": "/home/alice"}, root_prefix="/opt/conda"
    )
    assert [r.cache_dir for r in res] == ["/opt/conda/pkgs", "/home/alice/.conda/pkgs"]
    assert "must be a list" in res[0].problems[0]
    assert parse_rc("pkgs_dirs:\n- '/a b'\n- \"/c\"  #!top\n", "x").items == [
        ("/a b", None, 2),
        ("/c", "top", 3),
    ]


def test_mamba_rc_files_root_prefix_and_fallback(box: Machine) -> None:
    env = {"MAMBA_ROOT_PREFIX": "/opt/mm"}
    assert box.dirs(env, flavor="mamba") == ["/opt/mm/pkgs", "/home/alice/.mamba/pkgs"]
    box.write("/opt/mm/.mambarc", "pkgs_dirs: [/from/root_mambarc]\n")
    box.write("/home/alice/.mambarc", "pkgs_dirs:\n  - /from/home_mambarc\n")
    box.write("/home/alice/.condarc", "pkgs_dirs: [/from/condarc]\n")
    got = box.dirs({**env, "CONDA_PKGS_DIRS": "/from/env"}, flavor="mamba")
    assert got == ["/from/env", "/from/home_mambarc", "/from/condarc", "/from/root_mambarc"]
    (box.root / "home/alice/micromamba").mkdir()
    assert box.dirs(flavor="mamba")[0] == "/from/home_mambarc"
    box.write("/home/alice/.mambarc", "")
    box.write("/home/alice/.condarc", "")
    assert box.dirs(flavor="mamba") == ["/home/alice/micromamba/pkgs", "/home/alice/.mamba/pkgs"]


# ---------------------------------------------------------------------- real package files


def _cph() -> Path:
    venv = WORK / "conda-tools"
    cph = venv / "bin" / "cph"
    if not cph.exists():
        shutil.rmtree(venv, ignore_errors=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "conda-package-handling",
            ],
            check=True,
        )
    return cph


def _make_package(src: Path, name: str, version: str, build: str) -> Path:
    """A package tree with conda metadata and one symlink, as conda-build lays it out."""
    tree = src / f"{name}-{version}-{build}"
    (tree / "info").mkdir(parents=True)
    (tree / "lib").mkdir()
    (tree / "lib" / f"{name}.py").write_text(f"VERSION = {version!r}\n" * 50)
    (tree / "lib" / "alias.py").symlink_to(f"{name}.py")
    index = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "depends": [],
        "subdir": "noarch",
        "noarch": "generic",
    }
    (tree / "info" / "index.json").write_text(json.dumps(index))
    (tree / "info" / "files").write_text(f"lib/{name}.py\nlib/alias.py\n")
    return tree


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real ``.conda`` and ``.tar.bz2`` files made by conda-package-handling."""
    cph = _cph()
    src = tmp_path_factory.mktemp("conda-src")
    out = tmp_path_factory.mktemp("conda-out")
    for name, version, ext in (
        ("tinylib", "1.0", ".conda"),
        ("otherlib", "2.1", ".tar.bz2"),
        ("lonely", "0.3", ".tar.bz2"),
    ):
        tree = _make_package(src, name, version, "0")
        subprocess.run(
            [str(cph), "create", str(tree), tree.name + ext, "--out-folder", str(out)],
            check=True,
            capture_output=True,
        )
    return out


CHANNEL = "https://conda.anaconda.org/conda-forge"


def _pkgs_dir(packages: Path, root: Path) -> Path:
    """A pkgs dir as conda leaves it after ``conda create -n env tinylib otherlib``
    (plus a download of ``lonely`` never extracted), and the env linked from it."""
    pkgs = root / "pkgs"
    pkgs.mkdir(parents=True)
    cph = _cph()
    urls = []
    for file in sorted(packages.iterdir()):
        shutil.copy2(file, pkgs / file.name)
        urls.append(f"{CHANNEL}/noarch/{file.name}")
        stem = fmt.package_stem(file.name)
        assert stem
        if stem.startswith("lonely"):
            continue
        subprocess.run(
            [str(cph), "extract", str(pkgs / file.name), "--dest", str(pkgs / stem)],
            check=True,
            capture_output=True,
        )
        name, version, build = fmt.split_dist(stem)
        record = {
            "name": name,
            "version": version,
            "build": build,
            "build_number": 0,
            "channel": CHANNEL,
            "subdir": "noarch",
            "fn": file.name,
            "url": f"{CHANNEL}/noarch/{file.name}",
            "size": file.stat().st_size,
            "sha256": "ab" * 32,
            "depends": [],
        }
        (pkgs / stem / "info" / "repodata_record.json").write_text(json.dumps(record))
    (pkgs / "urls.txt").write_text("\n".join(urls) + "\n")
    (pkgs / "urls").write_text("")
    (pkgs / "cache").mkdir()
    (pkgs / "cache" / "497deca9.json").write_text('{"info": {"subdir": "noarch"}, "packages": {}}')
    (pkgs / "cache" / "497deca9.info.json").write_text(
        json.dumps({"url": f"{CHANNEL}/noarch/repodata.json"})
    )
    (pkgs / "tinylib-1.0-0.conda.partial").write_bytes(b"half")
    (pkgs / "notes.txt").write_text("mine")
    env = root / "envs" / "work"
    (env / "lib").mkdir(parents=True)
    os.link(
        pkgs / "tinylib-1.0-0" / "lib" / "tinylib.py", env / "lib" / "tinylib.py"
    )  # as conda links
    return pkgs


@pytest.fixture
def pkgs(packages: Path, tmp_path: Path) -> Path:
    return _pkgs_dir(packages, tmp_path)


def test_scan_identifies_real_packages(pkgs: Path) -> None:
    from test_formats import _owned_dirs_are_exclusive

    host = Host.local()
    assert fmt.looks_like(host, str(pkgs)) and detect(host, str(pkgs)) == "conda"
    assert _owned_dirs_are_exclusive(fmt.scan(host, str(pkgs))) == []
    result = fmt.scan(host, str(pkgs))
    by_key = {e.key: e for e in result.entries}
    tiny = by_key["tinylib-1.0-0.conda"]
    assert (tiny.kind, tiny.project, tiny.version) == (Kind.PACKAGE, "tinylib", "1.0")
    assert tiny.url == f"{CHANNEL}/noarch/tinylib-1.0-0.conda" and tiny.sha256 == "ab" * 32
    lonely = by_key["lonely-0.3-0.tar.bz2"]  # no extracted dir: read from inside the tarball
    assert (lonely.kind, lonely.project, lonely.version) == (Kind.PACKAGE, "lonely", "0.3")
    extracted = by_key["tinylib-1.0-0"]
    assert (extracted.kind, extracted.project, extracted.detail) == (
        Kind.ARCHIVE,
        "tinylib",
        CHANNEL,
    )
    paths = [f.path[len(str(pkgs)) + 1 :] for f in extracted.files]
    assert paths[0] == "tinylib-1.0-0/info/index.json"  # what conda looks up goes first
    assert "tinylib-1.0-0/lib/alias.py" in paths  # the symlink is part of the package
    assert fmt.cache_shape("tinylib-1.0-0/lib/alias.py") == "member"
    index = by_key["cache/497deca9.json"]
    assert index.kind == Kind.INDEX_PAGE and index.url == f"{CHANNEL}/noarch/repodata.json"
    assert len(index.files) == 2
    assert by_key["urls.txt"].kind == by_key["urls"].kind == Kind.CONTROL
    assert by_key["tinylib-1.0-0.conda.partial"].kind == Kind.ORPHAN
    assert by_key["notes.txt"].kind == Kind.STRAY
    # every regular file counted once, like du -b without directories
    regular = [p for p in pkgs.rglob("*") if p.is_file() and not p.is_symlink()]
    assert result.files == len(regular) and result.size == sum(p.stat().st_size for p in regular)
    quick = fmt.scan(host, str(pkgs), identify=False)
    assert {e.key: e.project for e in quick.entries}["lonely-0.3-0.tar.bz2"] == "lonely"


def test_cache_shape_roles() -> None:
    assert fmt.cache_shape("six-1.16.0-py_0.tar.bz2") == "record"
    assert fmt.cache_shape("six-1.16.0-py_0.conda.partial") == "tmp"
    assert fmt.cache_shape("six-1.16.0-py_0/info/index.json") == "record"
    assert fmt.cache_shape("six-1.16.0-py_0/lib/six.py") == "member"
    assert fmt.cache_shape("cache/497deca9.json") == "record"
    assert fmt.cache_shape("cache/497deca9.info.json") == "body"
    assert fmt.cache_shape(".trash/abc") == "tmp"
    for never in (
        "urls.txt",
        "urls",
        "notes.txt",
        "pkgs.lock",
        "cache/x.json.lock",
        "../x.conda",
        "a/b",
        "six.conda",
    ):
        assert fmt.cache_shape(never) is None, never
    assert fmt.LOCK is None and fmt.TOOL == "conda"


def test_prune_follows_the_link_count(pkgs: Path, tmp_path: Path) -> None:
    host = Host.local()
    entries = fmt.scan(host, str(pkgs)).entries
    pruned = {e.key: why for e, why in fmt.prune(entries)}
    # tinylib's extracted dir is hard-linked into envs/work: conda clean --packages keeps it
    assert "tinylib-1.0-0" not in pruned
    assert "extracted package" in pruned["otherlib-2.1-0"]
    assert set(pruned) == {
        "otherlib-2.1-0",
        "tinylib-1.0-0.conda",
        "otherlib-2.1-0.tar.bz2",
        "lonely-0.3-0.tar.bz2",
        "tinylib-1.0-0.conda.partial",
    }
    os.unlink(tmp_path / "envs" / "work" / "lib" / "tinylib.py")  # conda remove -n work tinylib
    entries = fmt.scan(host, str(pkgs)).entries
    assert "tinylib-1.0-0" in {e.key for e, _ in fmt.prune(entries)}


def test_purgeable_is_clean_all_and_closure_takes_the_whole_package(pkgs: Path) -> None:
    entries = fmt.scan(Host.local(), str(pkgs)).entries
    purge = {e.key for e in entries if fmt.purgeable(e)}
    assert "cache/497deca9.json" in purge and "otherlib-2.1-0" in purge
    assert not {"urls.txt", "urls", "notes.txt", "tinylib-1.0-0"} & purge
    by_key = {e.key: e for e in entries}
    extra = {e.key: why for e, why in fmt.closure(entries, [by_key["otherlib-2.1-0.tar.bz2"]])}
    assert extra == {"otherlib-2.1-0": "same package as otherlib-2.1-0.tar.bz2"}
    extra = {e.key for e, _ in fmt.closure(entries, [by_key["tinylib-1.0-0.conda"]])}
    assert extra == {"tinylib-1.0-0.conda.partial"}  # the linked extracted dir stays


def test_scan_of_missing_and_symlinked_dirs(tmp_path: Path) -> None:
    host = Host.local()
    assert not fmt.scan(host, str(tmp_path / "nope")).exists
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    linked = fmt.scan(host, str(tmp_path / "link"))
    assert not linked.exists and "symlink" in linked.problems[0].message
    assert not fmt.looks_like(host, str(tmp_path / "real"))


# ---------------------------------------------------------------------- through the CLI

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CACHECENSUS_MEMO="off")
    return subprocess.run([CACHECENSUS, *args], capture_output=True, text=True, env=env)


def _tree(top: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(top)): (p.read_bytes() if not p.is_symlink() else b"->")
        for p in sorted(top.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def test_cli_reads_a_pkgs_dir_as_conda_and_removes_a_package_whole(pkgs: Path) -> None:
    """``--cache-dir`` on a pkgs dir is read as conda's (by its layout); ``remove otherlib``
    takes its package file and its extracted dir (symlink and empty dirs included) and
    nothing else; the package an environment links is left in place."""
    listed = json.loads(_cli("list", "--cache-dir", str(pkgs), "--json").stdout)
    kinds = {(e["project"], e["kind"]) for e in listed["entries"]}
    assert {("otherlib", "package"), ("otherlib", "archive"), ("tinylib", "archive")} <= kinds
    before = _tree(pkgs)
    proc = _cli("remove", "otherlib", "--cache-dir", str(pkgs), "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["skipped"] == []
    assert not (pkgs / "otherlib-2.1-0").exists() and not (pkgs / "otherlib-2.1-0.tar.bz2").exists()
    after = _tree(pkgs)
    gone = set(before) - set(after)
    assert gone and all(p.startswith("otherlib-2.1-0") for p in gone)
    assert all(after[p] == before[p] for p in after)  # everything else byte-identical
    # tinylib: its extracted dir is linked into envs/work, so (as conda clean) only the
    # package file and the interrupted download go
    plan = json.loads(
        _cli("remove", "tinylib", "--cache-dir", str(pkgs), "--dry-run", "--json").stdout
    )["plan"]
    assert sorted(i["kind"] for i in plan["items"]) == ["orphan", "package"]


def test_cli_prune_without_rules_is_conda_clean_packages_and_tarballs(pkgs: Path) -> None:
    proc = _cli("prune", "--cache-dir", str(pkgs), "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    assert (pkgs / "tinylib-1.0-0" / "lib" / "tinylib.py").exists()  # still linked by envs/work
    assert (pkgs / "urls.txt").exists() and (pkgs / "notes.txt").exists()
    assert not (pkgs / "otherlib-2.1-0").exists()
    assert not (pkgs / "lonely-0.3-0.tar.bz2").exists()
