"""The service layer.

The :class:`~memsvc.service.facade.MemoryService` facade that every entry point calls, and the
operator actions it is made of (operations, prune, transfer, inventory, reinforce).
"""
