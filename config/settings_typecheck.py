"""Settings the type checker's Django plugin imports (``[tool.django-stubs]`` in pyproject.toml).

mypy's plugin imports the settings to learn the models and settings, in a process that serves
nothing. ``config.settings`` refuses to start with DEBUG off and no real secrets (a fresh clone, CI),
so the check runs as a test run does: ``TANDEM_TESTING`` makes throwaway keys for this process only.
The settings themselves are ``config.settings``' own, unchanged.
"""

import os

os.environ["TANDEM_TESTING"] = "true"

from config.settings import *  # noqa: F403
