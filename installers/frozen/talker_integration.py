"""The frozen `talker-integration` program: the Windows installer runs it to register Talker
and to unregister it; on macOS it is there for `talker-integration uninstall`."""

import sys

from installers.cli import main

if __name__ == "__main__":
    sys.exit(main())
