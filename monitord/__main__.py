import sys

from monitord.cli.main import main

sys.exit(main())
