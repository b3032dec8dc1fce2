#!/usr/bin/env bash
# Install Talker for this user on Linux: no root, nothing outside your home.
#
#   installers/linux/install.sh               install, or repair and upgrade in place
#   installers/linux/install.sh --yes         also take tel:/callto:/sip: from an app that has them
#   installers/linux/install.sh --no-autostart
#   installers/linux/install.sh --uninstall   remove everything it added
#
# It makes the app's own venv in ~/.local/share/talker/venv (Python 3.11 or 3.12), installs
# Talker into it from this checkout (or --wheel FILE), then hands over to the Python installer
# (`talker-integration install`, installers/linux/__init__.py): commands in ~/.local/bin, host
# manifests for the browsers present, talker.desktop as the handler of tel:, callto: and sip:,
# autostart. Other options go to that installer (--yes, --no-input, --autostart, --no-autostart).
#
#   --wheel FILE   install this wheel of Talker instead of the checkout
#   --python PY    the Python to make the venv with
#   --venv DIR     use this existing environment that has Talker in it, as is (developers, tests)
#   TALKER_PIP_ARGS  more pip options, e.g. "--no-index --find-links DIR" for an offline install
set -euo pipefail

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

src="$(cd "$(dirname "$0")/../.." && pwd)"
[ -n "${HOME:-}" ] || die "HOME is not set"
data_home="${XDG_DATA_HOME:-}"
case "$data_home" in /*) ;; *) data_home="$HOME/.local/share" ;; esac
app_home="$data_home/talker"
venv="$app_home/venv"

wheel="" python="" own_venv="" uninstall=0
pass=()
while [ $# -gt 0 ]; do
    case "$1" in
        --wheel) wheel="${2:?--wheel needs a file}"; shift 2 ;;
        --wheel=*) wheel="${1#*=}"; shift ;;
        --python) python="${2:?--python needs a program}"; shift 2 ;;
        --python=*) python="${1#*=}"; shift ;;
        --venv) own_venv="${2:?--venv needs a folder}"; shift 2 ;;
        --venv=*) own_venv="${1#*=}"; shift ;;
        --uninstall) uninstall=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) pass+=("$1"); shift ;;
    esac
done

# The installer runs from the app's venv, never from the current folder (-P): a folder that
# happens to hold an "installers" package must not be imported instead.
if [ "$uninstall" = 1 ]; then
    record_venv="$venv"
    [ -n "$own_venv" ] && record_venv="$own_venv"
    if "$record_venv/bin/python" -P -c 'import installers' 2>/dev/null; then
        exec "$record_venv/bin/python" -P -m installers uninstall
    fi
    # The venv is broken or gone: the installer needs only the standard library, so this
    # checkout's copy can read the record and undo it.
    for candidate in python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null; then
            cd "$src" && exec "$candidate" -m installers uninstall
        fi
    done
    die "no Python found to run the uninstaller"
fi

if [ -n "$own_venv" ]; then
    [ -x "$own_venv/bin/python" ] || die "$own_venv is not a Python environment"
    exec "$own_venv/bin/python" -P -m installers install --venv "$own_venv" ${pass[@]+"${pass[@]}"}
fi

# Folders made here for the app are listed in its install record, so uninstall removes them.
created=()
d="$app_home"
while [ "$d" != "$HOME" ] && [ "$d" != / ] && [ ! -e "$d" ]; do
    case "$d" in "$HOME"/*) created=("--created-dir" "$d" ${created[@]+"${created[@]}"}) ;; esac
    d="$(dirname "$d")"
done
mkdir -p "$app_home"

supported='import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 12)))'
if [ -z "$python" ]; then
    for candidate in python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null && "$candidate" -c "$supported" 2>/dev/null; then
            python="$(command -v "$candidate")"
            break
        fi
    done
    [ -n "$python" ] || die "Talker needs Python 3.11 or 3.12 (its SIP library has wheels for those only)"
fi
"$python" -c "$supported" 2>/dev/null || die "$python is not Python 3.11 or 3.12"

# A venv that no longer runs (its Python was upgraded away) is made anew; the app's settings
# are not in it.
if [ -e "$venv" ] && ! "$venv/bin/python" -c pass 2>/dev/null; then
    say "The app's venv is broken; making it again"
    rm -rf "$venv"
fi
if [ ! -e "$venv" ]; then
    say "Making the app's venv in $venv"
    if ! "$python" -m venv "$venv"; then
        rm -rf "$venv"
        die "could not make a venv; on Debian or Ubuntu install python3-venv first (sudo apt install python3-venv)"
    fi
fi

pip=("$venv/bin/python" -m pip install --disable-pip-version-check --no-cache-dir --quiet)
# shellcheck disable=SC2206  # TALKER_PIP_ARGS is a list of options, split on spaces on purpose
pip+=(${TALKER_PIP_ARGS:-})
if [ -n "$wheel" ]; then
    say "Installing $(basename "$wheel")"
    "${pip[@]}" --upgrade "$wheel"
else
    # Built from a copy: a build in the checkout would leave build/ behind, and a stale build/
    # can slip deleted modules into the install.
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    tar -C "$src" --exclude=./.git --exclude=./.venv --exclude=node_modules --exclude=./build \
        --exclude='*.egg-info' --exclude=__pycache__ --exclude=./tests --exclude=./bench -cf - . | tar -C "$tmp" -xf -
    constraints=()
    [ -f "$src/constraints.txt" ] && constraints=(-c "$src/constraints.txt")
    say "Installing Talker and its Python packages into the venv"
    # pip reinstalls a project from a folder even at the same version, so a newer checkout
    # always replaces the installed copy; dependencies change only when they must.
    "${pip[@]}" ${constraints[@]+"${constraints[@]}"} "$tmp"
fi

exec "$venv/bin/python" -P -m installers install --venv "$venv" ${created[@]+"${created[@]}"} ${pass[@]+"${pass[@]}"}
