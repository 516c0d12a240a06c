import sys

from hwlib.experiments.cli import main

sys.exit(main())
