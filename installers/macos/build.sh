#!/usr/bin/env bash
# Build Talker.app and a .dmg on macOS 11 or later, with Python 3.12 (or 3.11) from python.org
# or Homebrew. From the repository root:
#
#     installers/macos/build.sh
#
# Result: build/macos/dist/Talker.app and build/macos/Talker-<version>.dmg. The bundle is not
# signed or notarised; docs/install.md says what that means and how to sign it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out=build/macos
venv=build/venv-macos

python=""
for candidate in python3.12 python3.11; do
    if command -v "$candidate" >/dev/null; then python="$candidate"; break; fi
done
[ -n "$python" ] || { echo "build.sh: Python 3.11 or 3.12 is needed" >&2; exit 1; }
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q -c constraints.txt . pyinstaller

# Info.plist and the LaunchAgent for review, and the icon (installers/macos/__init__.py).
"$venv/bin/python" -m installers build macos "$out"
"$venv/bin/pyinstaller" --noconfirm --distpath "$out/dist" --workpath "$out/work" installers/talker.spec

version="$("$venv/bin/python" -c 'from installers.frozen import version; print(version())')"
# The disk image shows Talker.app next to a link to /Applications: the install is one drag.
stage="$out/dmg"
rm -rf "$stage" "$out/Talker-$version.dmg"
mkdir -p "$stage"
cp -R "$out/dist/Talker.app" "$stage/"
ln -s /Applications "$stage/Applications"
hdiutil create -volname Talker -srcfolder "$stage" -ov -format UDZO "$out/Talker-$version.dmg"
echo "$out/Talker-$version.dmg"
