"""The ``memsvc`` admin command line (click + Rich); the entry point is ``memsvc.cli.main:main``.

Nothing imports this package: it sits on top of the service, the embedded ``Memory`` and the SDK.
"""
