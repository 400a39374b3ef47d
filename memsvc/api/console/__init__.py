"""The web console at ``/ui``: a look inside the memory service, for operators.

Server-rendered Jinja2 pages over :class:`~memsvc.service.MemoryService` (never the store), one
stylesheet and one small script of our own, all shipped in the package: nothing is loaded from a
CDN, so it works offline. It is behind the API's own authentication: the key typed on the login
page is kept in an HttpOnly, SameSite=Strict cookie and checked like an ``Authorization`` header
on every page; a namespace key sees its namespace, the admin key sees all of them.
"""

from memsvc.api.console.headers import PagePolicyMiddleware
from memsvc.api.console.routes import install_console, router

__all__ = ["PagePolicyMiddleware", "install_console", "router"]
