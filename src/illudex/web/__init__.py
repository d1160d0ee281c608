"""The web server: REST API and web UI over the Library (`illudex serve`)."""

from illudex.web.app import create_app
from illudex.web.security import InsecureBindError, check_bind, check_token

__all__ = ["InsecureBindError", "check_bind", "check_token", "create_app"]
