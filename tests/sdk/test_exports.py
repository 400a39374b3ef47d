"""The SDK's public surface: a sorted ``__all__`` of documented names (httpx-style guard)."""

from __future__ import annotations

import inspect

import memsvc.sdk


def test_sdk_all_is_sorted_and_complete() -> None:
    public = {name for name in vars(memsvc.sdk) if not name.startswith("_")}
    public -= {"annotations", "client"}  # the __future__ import and the submodule
    assert memsvc.sdk.__all__ == sorted(memsvc.sdk.__all__)
    assert set(memsvc.sdk.__all__) == public


def test_sdk_exports_are_documented() -> None:
    for name in memsvc.sdk.__all__:
        member = getattr(memsvc.sdk, name)
        assert inspect.getdoc(member), name
        assert member.__module__.startswith("memsvc.sdk"), name


def test_sdk_client_methods_are_documented() -> None:
    for cls in (memsvc.sdk.MemoryClient, memsvc.sdk.AsyncMemoryClient):
        for name, member in inspect.getmembers(cls, callable):
            if not name.startswith("_"):
                assert inspect.getdoc(member), f"{cls.__name__}.{name}"
