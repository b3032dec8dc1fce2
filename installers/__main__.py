import sys

from installers.cli import main

sys.exit(main())
