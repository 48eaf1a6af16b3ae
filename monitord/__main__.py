import sys

from monitord.cli import main

sys.exit(main())
