"""The web console (issue 21): server-rendered pages under ``/console`` that act as the
signed-in principal through the API's own pipeline.

    Console(pipeline, authenticator, ...)   app.py: the one entry point, ``handle``
    is_console_path(path)                    which requests the front doors send here
"""

from trent.server.console.app import Console, TrailAccess
from trent.server.console.http import PREFIX, is_console_path

__all__ = ["PREFIX", "Console", "TrailAccess", "is_console_path"]
