import sys

from native_host.main import main

sys.exit(main())
