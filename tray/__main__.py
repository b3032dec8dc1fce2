import sys

from tray.boot import main

sys.exit(main())
