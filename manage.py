#!/usr/bin/env python
"""Django's command-line utility for the trading core."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    from config.checks import InsecureSettings

    try:
        execute_from_command_line(sys.argv)
    except InsecureSettings as refusal:  # production mode with unfit settings: the list, no traceback
        sys.exit(f"error: {refusal}")


if __name__ == "__main__":
    main()
