"""The frozen `talker-native-host` program, which browsers start."""

import sys

from native_host.main import main

if __name__ == "__main__":
    sys.exit(main())
