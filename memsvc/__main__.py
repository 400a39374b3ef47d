"""``python -m memsvc``: the admin CLI, as the ``memsvc`` command."""

from memsvc.cli.main import main

if __name__ == "__main__":
    main()
