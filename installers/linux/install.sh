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
#
# It speaks English or Russian, picked as Talker's own texts are (common/i18n.py): TALKER_LANG=ru|en,
# else the first of LANGUAGE, LC_ALL, LC_MESSAGES, LANG that names a language.
set -euo pipefail

lang=en
case "${TALKER_LANG:-}" in
    ru|en) lang="$TALKER_LANG" ;;
    *)
        for value in "${LANGUAGE:-}" "${LC_ALL:-}" "${LC_MESSAGES:-}" "${LANG:-}"; do
            case "${value%%:*}" in
                ""|C|C.*|POSIX) continue ;;  # says nothing about the language: look further, as i18n.py does
                ru|ru_*|ru.*) lang=ru ;;
            esac
            break
        done ;;
esac
# Every message comes in both languages: say/die ENGLISH RUSSIAN.
pick() { if [ "$lang" = ru ]; then printf '%s' "$2"; else printf '%s' "$1"; fi; }
say() { printf '==> %s\n' "$(pick "$1" "$2")" >&2; }
die() { printf 'install.sh: %s\n' "$(pick "$1" "$2")" >&2; exit 1; }

# The header above is the English help; this is the same in Russian.
usage_ru() {
    cat <<'EOF'
Установка Talker для этого пользователя в Linux: без root, ничего вне домашней папки.

  installers/linux/install.sh               установить, либо исправить и обновить на месте
  installers/linux/install.sh --yes         также забрать tel:/callto:/sip: у приложения, которое их открывает
  installers/linux/install.sh --no-autostart
  installers/linux/install.sh --uninstall   удалить всё, что было добавлено

Скрипт создаёт собственный venv приложения в ~/.local/share/talker/venv (Python 3.11 или 3.12),
устанавливает в него Talker из этой копии исходников (или из --wheel ФАЙЛ) и передаёт работу
установщику на Python (`talker-integration install`, installers/linux/__init__.py): команды
в ~/.local/bin, манифесты хоста для найденных браузеров, talker.desktop как обработчик tel:, callto:
и sip:, автозапуск. Остальные параметры передаются этому установщику (--yes, --no-input,
--autostart, --no-autostart).

  --wheel ФАЙЛ   установить этот wheel Talker вместо копии исходников
  --python PY    Python, которым создать venv
  --venv ПАПКА   взять готовое окружение с Talker как есть (для разработчиков и тестов)
  TALKER_PIP_ARGS  ещё параметры pip, например "--no-index --find-links ПАПКА" для установки без сети

Язык сообщений — как у самого Talker (common/i18n.py): TALKER_LANG=ru|en, иначе первая из
переменных LANGUAGE, LC_ALL, LC_MESSAGES, LANG, в которой указан язык.
EOF
}

src="$(cd "$(dirname "$0")/../.." && pwd)"
[ -n "${HOME:-}" ] || die "HOME is not set" "переменная HOME не задана"
data_home="${XDG_DATA_HOME:-}"
case "$data_home" in /*) ;; *) data_home="$HOME/.local/share" ;; esac
app_home="$data_home/talker"
venv="$app_home/venv"

wheel="" python="" own_venv="" uninstall=0
pass=()
while [ $# -gt 0 ]; do
    case "$1" in
        --wheel) [ -n "${2:-}" ] || die "--wheel needs a file" "после --wheel укажите файл"
            wheel="$2"; shift 2 ;;
        --wheel=*) wheel="${1#*=}"; shift ;;
        --python) [ -n "${2:-}" ] || die "--python needs a program" "после --python укажите программу"
            python="$2"; shift 2 ;;
        --python=*) python="${1#*=}"; shift ;;
        --venv) [ -n "${2:-}" ] || die "--venv needs a folder" "после --venv укажите папку"
            own_venv="$2"; shift 2 ;;
        --venv=*) own_venv="${1#*=}"; shift ;;
        --uninstall) uninstall=1; shift ;;
        -h|--help)
            if [ "$lang" = ru ]; then usage_ru; else sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; fi
            exit 0 ;;
        *) pass+=("$1"); shift ;;
    esac
done

# The installer runs from the app's venv and nothing else (-I: not the current folder, not
# PYTHONPATH, not the user's site-packages): a folder that happens to hold an "installers"
# package, or a PYTHONPATH left pointing at a source checkout, must not be imported instead.
if [ "$uninstall" = 1 ]; then
    record_venv="$venv"
    [ -n "$own_venv" ] && record_venv="$own_venv"
    if "$record_venv/bin/python" -I -c 'import installers' 2>/dev/null; then
        exec "$record_venv/bin/python" -I -m installers uninstall
    fi
    # The venv is broken or gone: the installer needs only the standard library, so this
    # checkout's copy can read the record and undo it.
    for candidate in python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null; then
            cd "$src" && exec "$candidate" -m installers uninstall
        fi
    done
    die "no Python found to run the uninstaller" "не найден Python, чтобы запустить удаление"
fi

if [ -n "$own_venv" ]; then
    [ -x "$own_venv/bin/python" ] || die "$own_venv is not a Python environment" "$own_venv — не окружение Python"
    exec "$own_venv/bin/python" -I -m installers install --venv "$own_venv" ${pass[@]+"${pass[@]}"}
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
    [ -n "$python" ] || die "Talker needs Python 3.11 or 3.12 (its SIP library has wheels for those only)" \
        "Talker нужен Python 3.11 или 3.12 (его библиотека SIP собрана только для них)"
fi
"$python" -c "$supported" 2>/dev/null || die "$python is not Python 3.11 or 3.12" "$python — не Python 3.11 и не 3.12"

# A venv that no longer runs (its Python was upgraded away) is made anew; the app's settings
# are not in it.
if [ -e "$venv" ] && ! "$venv/bin/python" -c pass 2>/dev/null; then
    say "The app's venv is broken; making it again" "venv приложения повреждён; создаю его заново"
    rm -rf "$venv"
fi
if [ ! -e "$venv" ]; then
    say "Making the app's venv in $venv" "Создаю venv приложения в $venv"
    if ! "$python" -m venv "$venv"; then
        rm -rf "$venv"
        die "could not make a venv; on Debian or Ubuntu install python3-venv first (sudo apt install python3-venv)" \
            "не удалось создать venv; в Debian и Ubuntu сначала установите python3-venv (sudo apt install python3-venv)"
    fi
fi

pip=("$venv/bin/python" -I -m pip install --disable-pip-version-check --no-cache-dir --quiet)
# shellcheck disable=SC2206  # TALKER_PIP_ARGS is a list of options, split on spaces on purpose
pip+=(${TALKER_PIP_ARGS:-})
if [ -n "$wheel" ]; then
    say "Installing $(basename "$wheel")" "Устанавливаю $(basename "$wheel")"
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
    say "Installing Talker and its Python packages into the venv" "Устанавливаю Talker и его пакеты Python в venv"
    # pip reinstalls a project from a folder even at the same version, so a newer checkout
    # always replaces the installed copy; dependencies change only when they must.
    "${pip[@]}" ${constraints[@]+"${constraints[@]}"} "$tmp"
fi

exec "$venv/bin/python" -I -m installers install --venv "$venv" ${created[@]+"${created[@]}"} ${pass[@]+"${pass[@]}"}
