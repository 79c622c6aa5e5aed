"""Completion scripts for bash, zsh and fish, generated from the Typer app by introspection.

:func:`describe` walks the app's command tree into plain records (commands, subcommands,
options, what each option's value and each command's arguments are); :func:`render` turns
them into a script for one shell.  ``scripts/gen-completions`` writes the three scripts to
``completions/`` (and ``--check`` fails when those are stale); ``cachecensus completion
show|install`` renders the same text at run time.

Everything static is baked into the scripts (no Python at TAB).  Option values and
arguments are completed by kind:

====================  =============================================================
``choice``            the option's choices (Enum / Literal types): ``--kind``, ``--for``
``file`` / ``dir``    the shell's own file / directory completion (``Path`` types,
                      ``--root``, ``--cache-dir``, metavars ``PATH``/``FILE``/``DIR``)
``user``              the shell's user completion (passwd): ``--user``
``env`` / ``python``  environment names / interpreter paths (``--env``, ``--python``)
``project``           cached project names (arguments of ``remove``, ``list``, ``install``)
``any``               a value with nothing to offer
====================  =============================================================

``env``, ``python`` and ``project`` are read from the candidates file (see
:mod:`cachecensus.complete`) by the shell itself; only when it is missing or stale does the
script run ``PY -m cachecensus._complete KIND PREFIX`` — as ``PY -c`` with
:data:`cachecensus.selfrun.PRELUDE` first, so nothing is imported from the shell's working
directory — where ``PY`` is the interpreter of the ``cachecensus`` on ``PATH`` (its ``#!``
line), else ``python3``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import typer

from cachecensus import complete

SHELLS = ("bash", "zsh", "fish")
#: The file name each shell's completion loader looks for.
FILE_NAMES = {"bash": "cachecensus", "zsh": "_cachecensus", "fish": "cachecensus.fish"}
#: The names of the committed files in ``completions/``.
REPO_FILES = {"bash": "cachecensus.bash", "zsh": "_cachecensus", "fish": "cachecensus.fish"}

FLAG = ""
CHOICE = "choice"
FILE = "file"
DIR = "dir"
USER = "user"
ENV = complete.ENV
PYTHON = complete.PYTHON
PROJECT = complete.PROJECT
ANY = "any"

#: Options whose values are a dynamic or shell-provided kind, by option name.
OPTION_KINDS = {
    "--env": ENV,
    "--python": PYTHON,
    "--user": USER,
    "--users": USER,
    "--root": DIR,
    "--cache-dir": DIR,
}
#: Metavars that say what an untyped value is.
METAVAR_KINDS = {"DIR": DIR, "PATH": FILE, "FILE": FILE, "USER": USER, "PY": PYTHON}
#: Commands whose arguments are cached project names (requirements, name patterns).
PROJECT_COMMANDS = frozenset({"remove", "list", "install"})


@dataclass(frozen=True)
class OptionSpec:
    names: tuple[str, ...]  # e.g. ("--kind", "-k"); a flag's "--no-x" secondary name too
    value: str  # FLAG for a flag, else one of the kinds above
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class CommandSpec:
    path: tuple[str, ...]  # () for cachecensus itself, ("completion", "show") ...
    help: str
    subcommands: tuple[tuple[str, str], ...]  # (name, one-line help)
    options: tuple[OptionSpec, ...]
    arguments: str | None  # the kind of the positional arguments; None: takes none
    arg_choices: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return " ".join(self.path)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""


def _choice_strings(choices: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(c.value) if isinstance(c, Enum) else str(c) for c in choices)


def _type_kind(param: Any) -> tuple[str | None, tuple[str, ...]]:
    """(kind, choices) from a parameter's type, or (None, ()) when the type says nothing."""
    desc = getattr(param, "type_descriptor", None)
    if desc is not None:  # typer >= 0.20: its own type descriptors
        if desc.is_choice and desc.choices:
            return CHOICE, _choice_strings(desc.choices)
        if desc.is_file:
            return FILE, ()
        if desc.is_path:
            info = desc.parameter_info
            only_dirs = getattr(info, "dir_okay", True) and not getattr(info, "file_okay", True)
            return (DIR if only_dirs else FILE), ()
        return None, ()
    ptype = getattr(param, "type", None)  # click-based typer
    choices = getattr(ptype, "choices", None)
    if choices:
        return CHOICE, _choice_strings(choices)
    if type(ptype).__name__ == "Path":
        only_dirs = getattr(ptype, "dir_okay", True) and not getattr(ptype, "file_okay", True)
        return (DIR if only_dirs else FILE), ()
    if type(ptype).__name__ == "File":
        return FILE, ()
    return None, ()


def _option(param: Any) -> OptionSpec:
    names = tuple(param.opts) + tuple(param.secondary_opts)
    help_text = _first_line(getattr(param, "help", ""))
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return OptionSpec(names, FLAG, help=help_text)
    for name in names:
        if name in OPTION_KINDS:
            return OptionSpec(names, OPTION_KINDS[name], help=help_text)
    kind, choices = _type_kind(param)
    if kind is None:
        kind = METAVAR_KINDS.get((param.metavar or "").strip("[]."), ANY)
    return OptionSpec(names, kind, choices, help_text)


def _arguments(path: tuple[str, ...], params: Sequence[Any]) -> tuple[str | None, tuple[str, ...]]:
    args = [p for p in params if type(p).__name__.endswith("Argument")]
    if not args:
        return None, ()
    kind, choices = _type_kind(args[0])
    if kind is not None:
        return kind, choices
    if path and path[-1] in PROJECT_COMMANDS:
        return PROJECT, ()
    return METAVAR_KINDS.get((args[0].metavar or "").strip("[]."), ANY), ()


def _walk(command: Any, path: tuple[str, ...]) -> Iterator[CommandSpec]:
    params = [p for p in command.params if not getattr(p, "hidden", False)]
    options = [_option(p) for p in params if type(p).__name__.endswith("Option")]
    options.append(OptionSpec(("-h", "--help"), FLAG, help="Show help and exit."))
    subs: list[tuple[str, Any]] = []
    commands = getattr(command, "commands", None)
    if commands:
        subs = [(n, c) for n, c in commands.items() if not getattr(c, "hidden", False)]
    arguments, arg_choices = _arguments(path, params)
    yield CommandSpec(
        path=path,
        help=_first_line(getattr(command, "short_help", None) or command.help),
        subcommands=tuple(
            (n, _first_line(getattr(c, "short_help", None) or c.help)) for n, c in subs
        ),
        options=tuple(options),
        arguments=arguments,
        arg_choices=arg_choices,
    )
    for name, sub in subs:
        yield from _walk(sub, (*path, name))


def describe(app: typer.Typer | None = None) -> list[CommandSpec]:
    """Every command of the app (the root first), as completion needs it."""
    if app is None:
        from cachecensus.cli.app import app as the_app

        app = the_app
    return list(_walk(typer.main.get_command(app), ()))


# ------------------------------------------------------------------------ rendering helpers


def _sq(text: str) -> str:
    """Single-quoted for sh/zsh (and fish, which also takes ``\\'`` inside quotes)."""
    return "'" + text.replace("'", "'\\''") + "'"


def _fish_sq(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _value_word(option: OptionSpec) -> str:
    """``KIND`` or ``choice:A B C`` for the shells' tables."""
    return f"choice:{' '.join(option.choices)}" if option.value == CHOICE else option.value


def _case_tables(specs: Sequence[CommandSpec]) -> str:
    """The four lookup functions bash and zsh share (POSIX ``case``, no associative arrays:
    works in bash 3.2 and zsh alike).  Each sets ``REPLY``."""
    subs = [
        f"        {_sq(s.key)}) REPLY={_sq(' '.join(n for n, _ in s.subcommands))} ;;"
        for s in specs
        if s.subcommands
    ]
    opts = [
        f"        {_sq(s.key)}) REPLY={_sq(' '.join(n for o in s.options for n in o.names))} ;;"
        for s in specs
    ]
    values: list[str] = []
    for s in specs:
        for o in s.options:
            if o.value != FLAG:
                pattern = "|".join(_sq(f"{s.key}|{n}") for n in o.names)
                values.append(f"        {pattern}) REPLY={_sq(_value_word(o))} ;;")
    args: list[str] = []
    for s in specs:
        if s.arguments is not None:
            word = f"choice:{' '.join(s.arg_choices)}" if s.arguments == CHOICE else s.arguments
            args.append(f"        {_sq(s.key)}) REPLY={_sq(word)} ;;")

    def fn(name: str, comment: str, arg: str, rows: list[str]) -> str:
        body = "\n".join(rows)
        return (
            f"{name}() {{  # {comment}\n"
            f"    case {arg} in\n{body}\n        *) REPLY='' ;;\n    esac\n}}\n"
        )

    return "\n".join(
        [
            fn("_cachecensus_subcommands", "PATH -> REPLY: its subcommands", '"$1"', subs),
            fn("_cachecensus_options", "PATH -> REPLY: its options", '"$1"', opts),
            fn(
                "_cachecensus_value",
                "PATH OPTION -> REPLY: the option's value kind ('' for a flag)",
                '"$1|$2"',
                values,
            ),
            fn("_cachecensus_arguments", "PATH -> REPLY: the kind of its arguments", '"$1"', args),
        ]
    )


_HEAD = (
    "# {shell} completion for cachecensus.\n"
    "# Generated by scripts/gen-completions from the CLI; do not edit (regenerate instead).\n"
    "# Commands, options and their values need no Python; cached project and environment\n"
    "# names come from the candidates file that envs/audit/list/remove refresh, and only\n"
    "# when it is missing or stale from `python -m cachecensus._complete`.\n"
)


def render(shell: str, specs: Sequence[CommandSpec] | None = None) -> str:
    """The completion script for ``shell`` (bash, zsh or fish)."""
    specs = describe() if specs is None else specs
    if shell == "bash":
        return _render_bash(specs)
    if shell == "zsh":
        return _render_zsh(specs)
    if shell == "fish":
        return _render_fish(specs)
    raise ValueError(f"unknown shell {shell!r} (choose from {', '.join(SHELLS)})")


# ------------------------------------------------------------------------------- bash

_BASH_ENGINE = r"""
_cachecensus_candidates_file() {  # -> REPLY: the candidates file (cachecensus.complete)
    REPLY=${CACHECENSUS_COMPLETION_FILE:-}
    [[ -n $REPLY ]] && return
    if [[ ${XDG_CACHE_HOME:-} == /* ]]; then REPLY=$XDG_CACHE_HOME
    elif [[ $OSTYPE == darwin* ]]; then REPLY=$HOME/Library/Caches
    else REPLY=$HOME/.cache; fi
    REPLY=$REPLY/cachecensus/completion-candidates.txt
}

_cachecensus_python() {  # -> REPLY: the interpreter of the cachecensus on PATH
    local exe line interp arg
    REPLY=python3
    exe=$(type -P cachecensus) || return 0
    [[ -r $exe ]] || return 0
    IFS= read -r line < "$exe" || return 0
    [[ $line == '#!'* ]] || return 0
    read -r interp arg _ <<< "${line#??}"
    if [[ $interp == */env && -n $arg ]]; then REPLY=$arg
    elif [[ ${interp##*/} == python* ]]; then REPLY=$interp; fi
}

_cachecensus_split() {  # LINE -> words: split at blanks outside quotes (kept as typed)
    local line=$1 word='' q='' c i
    REPLY=''
    for (( i = 0; i < ${#line}; i++ )); do
        c=${line:i:1}
        if [[ -n $q ]]; then
            word+=$c
            [[ $c == "$q" ]] && q=''
        elif [[ $c == \\ ]]; then
            word+=$c${line:i+1:1}; (( i++ )); REPLY=1
        elif [[ $c == [\'\"] ]]; then
            q=$c; word+=$c; REPLY=1
        elif [[ $c == [[:space:]] ]]; then
            [[ -n $REPLY ]] && words+=("$word")
            word=''; REPLY=''
        else
            word+=$c; REPLY=1
        fi
    done
    [[ -n $REPLY ]] && words+=("$word")
}

_cachecensus_dequote() {  # WORD -> REPLY: the word as typed, unquoted (best effort)
    REPLY=$1
    case $REPLY in
        \'*) REPLY=${REPLY#\'}; REPLY=${REPLY%\'} ;;
        \"*) REPLY=${REPLY#\"}; REPLY=${REPLY%\"} ;;
        *\\*)
            local out='' i
            for (( i = 0; i < ${#REPLY}; i++ )); do
                if [[ ${REPLY:i:1} == \\ ]]; then (( i++ )); fi
                out+=${REPLY:i:1}
            done
            REPLY=$out ;;
    esac
}

_cachecensus_dynamic() {  # KIND PREFIX: add the matching dynamic candidates to COMPREPLY
    local kind=$1 cur=$2 stampkind=$1 fresh='' v REPLY tab=$'\t'
    [[ $kind == python ]] && stampkind=env
    _cachecensus_dequote "$cur"
    cur=$REPLY
    _cachecensus_candidates_file
    local file=$REPLY
    local -a found=()
    if [[ -r $file ]]; then
        # grep -F finds this prefix's lines (and the kind's stamp): only they reach the
        # shell, so a TAB costs the same with 40 000 names as with 40
        while IFS= read -r v; do
            if [[ $v == "#stamp$tab$stampkind$tab"* ]]; then
                v=${v##*"$tab"}
                # digits only: the file is data, never arithmetic to evaluate
                if [[ -n $v && $v != *[!0-9]* ]]; then
                    if [[ -z ${EPOCHSECONDS:-} ]] || (( EPOCHSECONDS - 10#$v < @MAX_AGE@ )); then
                        fresh=1
                    fi
                fi
            elif [[ $v == "$kind$tab$cur"* ]]; then
                found+=("${v#*"$tab"}")
            fi
        done < <(LC_ALL=C grep -aF -e "#stamp$tab$stampkind$tab" -e "$kind$tab$cur" \
                     -- "$file" 2>/dev/null)
    fi
    if [[ -z $fresh ]]; then
        _cachecensus_python
        # python -m cachecensus._complete, never importing from the working directory
        local code='import sys; sys.path[:] = [p for p in sys.path if p]'
        code+='; from cachecensus._complete import main; sys.exit(main())'
        found=()
        while IFS= read -r v; do
            [[ -n $v ]] && found+=("$v")
        done < <("$REPLY" -c "$code" "$kind" "$cur" 2>/dev/null)
    fi
    local IFS=$'\n'
    if [[ "${found[*]}" == *[!$'\n'A-Za-z0-9._/+@%,:=~-]* ]]; then
        local i
        for (( i = 0; i < ${#found[@]}; i++ )); do  # quoted for the command line
            printf -v 'found[i]' %q "${found[i]}"
        done
    fi
    COMPREPLY+=("${found[@]}")
}

_cachecensus_values() {  # KIND PREFIX: add the candidates for a value of that kind
    local kind=$1 cur=$2 IFS=$'\n'
    case $kind in
        choice:*)
            local words=${kind#choice:}
            COMPREPLY+=($(compgen -W "${words// /$'\n'}" -- "$cur")) ;;
        file) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -f -- "$cur")) ;;
        dir) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -d -- "$cur")) ;;
        user) COMPREPLY+=($(compgen -u -- "$cur")) ;;
        python)
            _cachecensus_dynamic python "$cur"
            compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -f -- "$cur")) ;;
        env|project) _cachecensus_dynamic "$kind" "$cur" ;;
    esac
}

_cachecensus() {
    local line=${COMP_LINE:0:COMP_POINT} cur REPLY i word cmdpath='' pending='' dd='' npos=0
    local -a words=()
    _cachecensus_split "$line"  # -> words; REPLY: set when the line ends inside a word
    if [[ -z $REPLY ]]; then
        cur=''
    else
        cur=${words[${#words[@]}-1]}
        unset "words[${#words[@]}-1]"
    fi
    local n=${#words[@]}
    for (( i = 1; i < n; i++ )); do
        word=${words[i]}
        if [[ -n $dd ]]; then
            (( npos++ ))
        elif [[ $word == -- ]]; then
            dd=1
        elif [[ $word == -* ]]; then
            [[ $word == *=* ]] && continue
            _cachecensus_value "$cmdpath" "$word"
            if [[ -n $REPLY ]]; then
                if (( i + 1 < n )); then (( i++ )); else pending=$REPLY; fi
            fi
        else
            _cachecensus_subcommands "$cmdpath"
            if (( npos == 0 )) && [[ " $REPLY " == *" $word "* ]]; then
                cmdpath=${cmdpath:+$cmdpath }$word
            else
                (( npos++ ))
            fi
        fi
    done
    # bash splits words at COMP_WORDBREAKS (= and :); replies are for the part after them
    local head='' breaks=''
    [[ $COMP_WORDBREAKS == *:* ]] && breaks+=':'
    [[ $COMP_WORDBREAKS == *=* ]] && breaks+='='
    [[ -n $breaks ]] && head=${cur%"${cur##*[$breaks]}"}
    COMPREPLY=()
    if [[ -n $pending ]]; then
        _cachecensus_values "$pending" "$cur"
    elif [[ -z $dd && $cur == --*=* ]]; then
        _cachecensus_value "$cmdpath" "${cur%%=*}"
        local opt=${cur%%=*}=
        _cachecensus_values "$REPLY" "${cur#*=}"
        COMPREPLY=("${COMPREPLY[@]/#/$opt}")
    elif [[ -z $dd && $cur == -* ]]; then
        _cachecensus_options "$cmdpath"
        _cachecensus_values "choice:$REPLY" "$cur"  # one candidate per word, never one word
    else
        _cachecensus_subcommands "$cmdpath"
        if [[ -n $REPLY && -z $dd ]] && (( npos == 0 )); then
            _cachecensus_values "choice:$REPLY" "$cur"
        else
            _cachecensus_arguments "$cmdpath"
            _cachecensus_values "$REPLY" "$cur"
        fi
    fi
    if [[ -n $head ]]; then
        COMPREPLY=("${COMPREPLY[@]#"$head"}")
    fi
    return 0
}

complete -F _cachecensus cachecensus
"""


def _render_bash(specs: Sequence[CommandSpec]) -> str:
    engine = _BASH_ENGINE.replace("@MAX_AGE@", str(complete.MAX_AGE))
    return _HEAD.format(shell="bash") + "\n" + _case_tables(specs) + engine


# -------------------------------------------------------------------------------- zsh

_ZSH_ENGINE = r"""
_cachecensus_candidates_file() {  # -> REPLY: the candidates file (cachecensus.complete)
    REPLY=${CACHECENSUS_COMPLETION_FILE:-}
    [[ -n $REPLY ]] && return
    if [[ ${XDG_CACHE_HOME:-} == /* ]]; then REPLY=$XDG_CACHE_HOME
    elif [[ $OSTYPE == darwin* ]]; then REPLY=$HOME/Library/Caches
    else REPLY=$HOME/.cache; fi
    REPLY=$REPLY/cachecensus/completion-candidates.txt
}

_cachecensus_python() {  # -> REPLY: the interpreter of the cachecensus on PATH
    local exe=${commands[cachecensus]} line interp arg rest
    REPLY=python3
    [[ -n $exe && -r $exe ]] || return 0
    IFS= read -r line < $exe || return 0
    [[ $line == '#!'* ]] || return 0
    read -r interp arg rest <<< "${line#??}"
    if [[ $interp == */env && -n $arg ]]; then REPLY=$arg
    elif [[ ${interp:t} == python* ]]; then REPLY=$interp; fi
}

_cachecensus_dynamic() {  # KIND: offer the dynamic candidates of that kind
    local kind=$1 stampkind=$1 fresh='' REPLY stamp
    local -a found lines
    [[ $kind == python ]] && stampkind=env
    zmodload -F zsh/datetime p:EPOCHSECONDS 2>/dev/null
    _cachecensus_candidates_file
    local file=$REPLY
    if [[ -r $file ]]; then
        # grep -F finds this prefix's lines (and the kind's stamp): only they reach the
        # shell, so a TAB costs the same with 40 000 names as with 40
        local tab=$'\t' prefix=${(Q)PREFIX}
        lines=("${(@f)$(LC_ALL=C grep -aF -e "#stamp$tab$stampkind$tab" \
                        -e "$kind$tab$prefix" -- $file 2>/dev/null)}")
        found=("${(@)${(@M)lines:#${kind}$'\t'*}#${kind}$'\t'}")
        stamp=${${(M)lines:#\#stamp$'\t'${stampkind}$'\t'*}[1]##*$'\t'}
        if [[ $stamp == <-> ]]; then  # digits only: the file is data, never arithmetic
            if [[ -z ${EPOCHSECONDS:-} ]] || (( EPOCHSECONDS - stamp < @MAX_AGE@ )); then
                fresh=1
            fi
        fi
    fi
    if [[ -z $fresh ]]; then
        _cachecensus_python
        # python -m cachecensus._complete, never importing from the working directory
        local code='import sys; sys.path[:] = [p for p in sys.path if p]'
        code+='; from cachecensus._complete import main; sys.exit(main())'
        found=("${(@f)$("$REPLY" -c "$code" $kind "$PREFIX" 2>/dev/null)}")
    fi
    found=(${found:#})
    (( $#found )) && compadd -a found
}

_cachecensus_values() {  # KIND: offer the candidates for a value of that kind
    local kind=$1
    case $kind in
        choice:*) local -a choices=(${=kind#choice:}); compadd -a choices ;;
        file) _files ;;
        dir) _files -/ ;;
        user) _users ;;
        python) _cachecensus_dynamic python; _files ;;
        env|project) _cachecensus_dynamic $kind ;;
    esac
}

_cachecensus() {
    local REPLY word cmdpath='' pending='' dd='' cur=${words[CURRENT]}
    local -i i npos=0
    for (( i = 2; i < CURRENT; i++ )); do
        word=${words[i]}
        if [[ -n $dd ]]; then
            (( npos++ ))
        elif [[ $word == -- ]]; then
            dd=1
        elif [[ $word == -* ]]; then
            [[ $word == *=* ]] && continue
            _cachecensus_value "$cmdpath" "$word"
            if [[ -n $REPLY ]]; then
                if (( i + 1 < CURRENT )); then (( i++ )); else pending=$REPLY; fi
            fi
        else
            _cachecensus_subcommands "$cmdpath"
            if (( npos == 0 )) && [[ " $REPLY " == *" $word "* ]]; then
                cmdpath=${cmdpath:+$cmdpath }$word
            else
                (( npos++ ))
            fi
        fi
    done
    if [[ -n $pending ]]; then
        _cachecensus_values "$pending"
    elif [[ -z $dd && $cur == --*=* ]]; then
        _cachecensus_value "$cmdpath" "${cur%%=*}"
        compset -P '*='
        _cachecensus_values "$REPLY"
    elif [[ -z $dd && $cur == -* ]]; then
        _cachecensus_options "$cmdpath"
        local -a opts=(${=REPLY})
        compadd -a opts
    else
        _cachecensus_subcommands "$cmdpath"
        if [[ -n $REPLY && -z $dd ]] && (( npos == 0 )); then
            local -a subs=(${=REPLY})
            compadd -a subs
        else
            _cachecensus_arguments "$cmdpath"
            _cachecensus_values "$REPLY"
        fi
    fi
    return 0
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _cachecensus "$@"
else
    compdef _cachecensus cachecensus
fi
"""


def _render_zsh(specs: Sequence[CommandSpec]) -> str:
    engine = _ZSH_ENGINE.replace("@MAX_AGE@", str(complete.MAX_AGE))
    return (
        "#compdef cachecensus\n" + _HEAD.format(shell="zsh") + "\n" + _case_tables(specs) + engine
    )


# ------------------------------------------------------------------------------- fish

_FISH_ENGINE = r"""
# the value kind of an option (empty for a flag)
function __cachecensus_value --argument-names cmdpath option
    switch "$cmdpath|$option"
@VALUES@
    end
end

function __cachecensus_subcommands --argument-names cmdpath
    switch "$cmdpath"
@SUBS@
    end
end

# the cachecensus subcommand path before the cursor
function __cachecensus_path
    set -l tokens (commandline -opc)
    set -l cmdpath ''
    set -l skip 0
    set -l npos 0
    set -l dd 0
    for word in $tokens[2..-1]
        if test $skip = 1
            set skip 0
        else if test $dd = 1
            set npos (math $npos + 1)
        else if test "$word" = --
            set dd 1
        else if string match -q -- '-*' $word
            if not string match -q -- '*=*' $word
                test -n "$(__cachecensus_value "$cmdpath" $word)"; and set skip 1
            end
        else if test $npos = 0; and contains -- $word (__cachecensus_subcommands "$cmdpath")
            set cmdpath (string trim -- "$cmdpath $word")
        else
            set npos (math $npos + 1)
        end
    end
    echo $cmdpath
end

# is the command line at this subcommand path? (memoised per command line)
function __cachecensus_at --argument-names cmdpath
    set -l line (commandline -pc)
    if test "$line" != "$__cachecensus_line"
        set -g __cachecensus_line $line
        set -g __cachecensus_atpath (__cachecensus_path)
    end
    test "$__cachecensus_atpath" = "$cmdpath"
end

# cached project / environment names (the candidates file, else cachecensus._complete)
function __cachecensus_candidates --argument-names kind
    set -l stampkind $kind
    test "$kind" = python; and set stampkind env
    set -l file $CACHECENSUS_COMPLETION_FILE
    if test -z "$file"
        if string match -q -- '/*' "$XDG_CACHE_HOME"
            set file $XDG_CACHE_HOME
        else if test -d $HOME/Library/Caches; and test (uname) = Darwin
            set file $HOME/Library/Caches
        else
            set file $HOME/.cache
        end
        set file $file/cachecensus/completion-candidates.txt
    end
    set -l fresh 0
    set -l token (commandline -ct)
    set -l cur (string unescape -- $token 2>/dev/null); or set cur $token
    if test -r $file
        # grep -F finds this prefix's lines (and the kind's stamp): only they reach fish,
        # so a TAB costs the same with 40 000 names as with 40
        set -l hits (LC_ALL=C command grep -aF -e "#stamp"\t"$stampkind"\t \
            -e "$kind"\t"$cur" -- $file 2>/dev/null)
        set -l stamp (string match -r -g "^#stamp\t$stampkind\t(\d+)\$" -- $hits)[1]
        if test -n "$stamp"; and test (math (date +%s) - $stamp) -lt @MAX_AGE@
            string match -r -g "^$kind\t(.+)\$" -- $hits
            return
        end
    end
    set -l py python3
    set -l exe (command -s cachecensus)
    if test -n "$exe"; and test -r "$exe"
        read -l line < $exe
        set -l parts (string split -n ' ' -- (string replace -r '^#!' '' -- $line))
        if string match -q -- '*/env' $parts[1]; and test -n "$parts[2]"
            set py $parts[2]
        else if string match -q -- 'python*' (string replace -r '.*/' '' -- $parts[1])
            set py $parts[1]
        end
    end
    # python -m cachecensus._complete, never importing from the working directory
    set -l code 'import sys; sys.path[:] = [p for p in sys.path if p]'
    set code "$code; from cachecensus._complete import main; sys.exit(main())"
    $py -c "$code" $kind "$cur" 2>/dev/null
end

complete -c cachecensus -f
"""


def _fish_value_args(kind: str, choices: Sequence[str]) -> str:
    if kind == CHOICE:
        return f"-x -a {_fish_sq(' '.join(choices))}"
    return {
        FILE: "-r -F",
        DIR: "-x -a '(__fish_complete_directories (commandline -ct))'",
        USER: "-x -a '(__fish_complete_users)'",
        ENV: "-x -a '(__cachecensus_candidates env)'",
        PYTHON: "-r -F -a '(__cachecensus_candidates python)'",
        PROJECT: "-x -a '(__cachecensus_candidates project)'",
    }.get(kind, "-x")


def _render_fish(specs: Sequence[CommandSpec]) -> str:
    values: list[str] = []
    for s in specs:
        for o in s.options:
            if o.value != FLAG:
                cases = " ".join(_fish_sq(f"{s.key}|{n}") for n in o.names)
                values.append(f"        case {cases}\n            echo {_fish_sq(o.value)}")
    subs = [
        f"        case {_fish_sq(s.key)}\n"
        f"            printf '%s\\n' {' '.join(_fish_sq(n) for n, _ in s.subcommands)}"
        for s in specs
        if s.subcommands
    ]
    engine = (
        _FISH_ENGINE.replace("@VALUES@", "\n".join(values))
        .replace("@SUBS@", "\n".join(subs))
        .replace("@MAX_AGE@", str(complete.MAX_AGE))
    )
    lines = [_HEAD.format(shell="fish"), engine]
    for s in specs:
        cond = f"-n {_fish_sq('__cachecensus_at ' + _sq(s.key))}"
        for name, help_text in s.subcommands:
            lines.append(
                f"complete -c cachecensus {cond} -a {_fish_sq(name)} -d {_fish_sq(help_text)}"
            )
        for o in s.options:
            flags = []
            for n in o.names:
                if n.startswith("--"):
                    flags.append(f"-l {_fish_sq(n[2:])}")
                elif len(n) == 2:
                    flags.append(f"-s {_fish_sq(n[1:])}")
                else:
                    flags.append(f"-o {_fish_sq(n[1:])}")
            value = "" if o.value == FLAG else " " + _fish_value_args(o.value, o.choices)
            described = f" -d {_fish_sq(o.help)}" if o.help else ""
            lines.append(f"complete -c cachecensus {cond} {' '.join(flags)}{value}{described}")
        if s.arguments is not None and not s.subcommands:
            args = _fish_value_args(s.arguments, s.arg_choices)
            if s.arguments in (FILE, PYTHON):
                args = args.replace("-r -F", "-F")
            elif args.startswith("-x"):
                args = "-f" + args[2:]
            lines.append(f"complete -c cachecensus {cond} {args}")
    return "\n".join(lines) + "\n"
