"""The frozen `talker` program (talker.exe; Talker.app's main program on macOS)."""

import sys

from installers.frozen import run_module_if_asked


def main() -> int:
    # Finder adds a process serial number argument on older macOS.
    argv = [a for a in sys.argv if not a.startswith("-psn_")]
    if sys.platform == "darwin" and (argv[1:] == [] or argv[1:3] == ["-m", "tray"]):
        # The app itself is starting (opened, at login, or by `talker --callto` when it was
        # not running): tie it into this Mac once, and take links while it runs.
        from installers.macos.app_start import prepare

        prepare()
    if run_module_if_asked(argv):
        return 0
    from tray.cli import main as cli_main

    return cli_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
