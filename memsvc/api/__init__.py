"""The REST API: ``create_app`` (memsvc.api.app) and ``run_server`` (memsvc.api.server).

Nothing imports this package from the library side; it imports the service, never the store,
the indexes or the embedders.
"""
