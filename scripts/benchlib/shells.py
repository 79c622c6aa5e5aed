"""Time a dynamic TAB in real bash, zsh and fish: cachecensus's completion beside pip's.

Each shell sources the committed completion script (``completions/``) and pip's own
(``pip completion --SHELL``), then calls the function the shell would call at TAB, many
times, timing each call with the shell's own clock:

- bash: the ``complete -F`` function with ``COMP_LINE``/``COMP_WORDS`` set, timed with
  ``$EPOCHREALTIME``;
- zsh: the ``compdef`` function with ``words``/``CURRENT`` set (``compadd`` stubbed, since
  it only works inside a completion widget; it only collects the candidates), timed with
  ``zsh/datetime``'s ``$EPOCHREALTIME``;
- fish: ``complete -C 'LINE'`` (fish's real completion machinery), timed with
  ``date +%s%N`` minus the same clock's own cost, measured alongside.

cachecensus completes ``install proj0249`` from the candidates file (as many project names
as the bench cache holds); pip completes ``uninstall p`` (pip's only dynamic candidates:
installed distributions), which starts pip.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
COMPLETIONS = REPO / "completions"


def _bash(n: int, pip_bin: Path) -> str:
    return f"""
source {COMPLETIONS / "cachecensus.bash"}
eval "$({pip_bin / "pip"} completion --bash)"
run() {{  # LABEL FUNC WORDS...
    local label=$1 func=$2; shift 2
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}
    for (( i = 0; i < {n}; i++ )); do
        local s=$EPOCHREALTIME
        "$func" "$1" "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
        local e=$EPOCHREALTIME
        echo "$label ${{#COMPREPLY[@]}} $s $e"
    done
}}
run ours _cachecensus cachecensus install proj0249
run pip _pip_completion pip uninstall p
"""


def _zsh(n: int, pip_bin: Path) -> str:
    return f"""
zmodload zsh/datetime
typeset -ga got
compadd() {{ local a; for a in "$@"; do [[ $a == -* ]] || got+=($a); done;
            [[ $1 == -a ]] && got=(${{(P)2}}); }}
compdef() {{ : }}
source {COMPLETIONS / "_cachecensus"}
eval "$({pip_bin / "pip"} completion --zsh)"
run() {{  # LABEL FUNC WORDS...
    local label=$1 func=$2; shift 2
    words=("$@"); CURRENT=$#; PREFIX=${{words[CURRENT]}}
    for (( i = 0; i < {n}; i++ )); do
        got=()
        local s=$EPOCHREALTIME
        $func
        local e=$EPOCHREALTIME
        echo "$label ${{#got}} $s $e"
    done
}}
run ours _cachecensus cachecensus install proj0249
run pip __pip pip uninstall p
"""


def _fish(n: int, pip_bin: Path) -> str:
    return f"""
source {COMPLETIONS / "cachecensus.fish"}
{pip_bin / "pip"} completion --fish | source
function run --argument-names label line
    for i in (seq {n})
        set s (date +%s%N)
        if test "$label" = clock
            set got x  # the clock's own cost, subtracted from the others
        else
            set got (complete -C "$line")
        end
        set e (date +%s%N)
        echo "$label" (count $got) (math "$s / 1000000000") (math "$e / 1000000000")
    end
end
run clock none
run ours 'cachecensus install proj0249'
run pip 'pip uninstall p'
"""


def _run(shell: str, script: str, env: dict[str, str]) -> dict[str, list[float]]:
    argv = {
        "bash": ["bash", "--norc", "--noprofile", "-c"],
        "zsh": ["zsh", "-f", "-c"],
        "fish": ["fish", "--no-config", "-c"],
    }[shell]
    proc = subprocess.run([*argv, script], env=env, capture_output=True, text=True, timeout=900)
    times: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        label, count, start, end = parts
        times.setdefault(label, []).append(float(end) - float(start))
        counts[label] = int(count)
    for label in ("ours", "pip"):
        if not times.get(label) or counts.get(label, 0) == 0:
            raise SystemExit(
                f"bench: {shell} completion of {label} gave no candidates:\n"
                f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
            )
    return times


#: Cached project names the TAB is timed against: a typical cache, and a huge one.
PROJECT_COUNTS = (2500, 40_000)


def bench_completion(
    tabs: int, work: Path, report: Any, pip_python: Path, counts: tuple[int, ...] = PROJECT_COUNTS
) -> str:
    """Add one row per shell and project count (p50 per TAB, ours vs pip's) to ``report``.

    The candidates file is the bench's own (``CACHECENSUS_COMPLETION_FILE``), never the
    invoking user's."""
    from cachecensus.complete import FILE_ENV, write_candidates

    done: list[str] = []
    for count in counts:
        cand = work / f"completion-candidates-{count}.txt"
        write_candidates([f"proj{i:05d}" for i in range(count)], [], path=str(cand))
        env = dict(os.environ, **{FILE_ENV: str(cand)})
        env["PATH"] = f"{REPO / '.venv' / 'bin'}:{pip_python.parent}:{env.get('PATH', '')}"
        env.pop("PIP_FIND_LINKS", None)
        for shell, make in (("bash", _bash), ("zsh", _zsh), ("fish", _fish)):
            if shutil.which(shell) is None:
                print(f"  {shell}: not installed, skipped", file=sys.stderr)
                continue
            times = _run(shell, make(tabs, pip_python.parent), env)
            clock = statistics.median(times["clock"]) if "clock" in times else 0.0
            ours = max(0.0, statistics.median(times["ours"]) - clock)
            theirs = max(1e-9, statistics.median(times["pip"]) - clock)
            report.add(
                f"dynamic TAB p50, {shell} ({count} projects)",
                ours,
                f"pip's completion ({shell})",
                theirs,
                "≤ 15 ms",
            )
            if shell not in done:
                done.append(shell)
    sizes = " and ".join(str(c) for c in counts)
    return f"completion: {tabs} TABs per shell and tool in {', '.join(done)} ({sizes} projects)"
