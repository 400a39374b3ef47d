"""Building the effective :class:`~memsvc.config.Settings` of one CLI invocation.

Precedence, lowest first: defaults, ``MEMSVC_*`` environment variables, the ``--config`` file
(TOML or JSON, nested like the settings: ``[db] url = "..."``), then each ``-s key value``
(datasette style, dotted keys: ``-s embed.backend hashing``).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, SecretStr
from pydantic import ValidationError as PydanticValidationError

from memsvc.config import Settings
from memsvc.errors import ConfigError

__all__ = [
    "SECRET_MASK",
    "flatten",
    "is_secret",
    "iter_fields",
    "load_settings",
    "masked_dump",
    "parse_override",
]

SECRET_MASK = "**********"


def load_settings(
    config_file: Path | None = None, overrides: Sequence[tuple[str, str]] = ()
) -> Settings:
    """The effective settings: environment, then the config file, then ``-s`` overrides.

    Raises:
        ConfigError: unreadable file, unknown key or invalid value (one line, names the key).
    """
    data: dict[str, Any] = _read_config_file(config_file) if config_file is not None else {}
    for key, raw in overrides:
        _set_path(data, key, parse_override(raw))
    _check_keys(data, Settings, prefix="")
    try:
        return Settings(**data)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        raise ConfigError(
            f"invalid setting {where}: {first.get('msg', 'invalid value')}",
            detail={"key": where},
        ) from None


def parse_override(raw: str) -> Any:
    """The value of ``-s key VALUE``: JSON arrays/objects and ``null`` are decoded, the rest is
    left as text for pydantic to coerce (``"64"`` becomes an int where the field is one)."""
    text = raw.strip()
    if text == "null":
        return None
    if text[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"value is not valid JSON: {exc.msg}") from None
    return raw


def iter_fields(
    model: type[BaseModel] = Settings, prefix: str = ""
) -> Iterator[tuple[str, Any, type[BaseModel]]]:
    """Every leaf setting as ``(dotted name, FieldInfo, owning model)``, depth first."""
    for name, info in model.model_fields.items():
        sub = _submodel(info.annotation)
        if sub is not None:
            yield from iter_fields(sub, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", info, model


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The settings as JSON-able data with every secret replaced by ``"**********"``."""
    dumped: dict[str, Any] = settings.model_dump(mode="json")
    for name, info, _ in iter_fields():
        if not is_secret(info):
            continue
        *path, leaf = name.split(".")
        node = dumped
        for part in path:
            node = node[part]
        if node.get(leaf) is not None:
            node[leaf] = SECRET_MASK
    return dumped


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level with dotted keys."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot parse config file {path}: {_one_line(str(exc))}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table of settings")
    return data


def _set_path(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    if not all(parts):
        raise ConfigError(f"invalid setting name {key!r}")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"setting {key!r} is inside a value, not a section")
        node = child
    node[parts[-1]] = value


def _check_keys(data: Mapping[str, Any], model: type[BaseModel], *, prefix: str) -> None:
    """Refuse unknown keys at every level (nested models would silently ignore them)."""
    for key, value in data.items():
        info = model.model_fields.get(key)
        if info is None:
            raise ConfigError(f"unknown setting {prefix}{key}", detail={"key": f"{prefix}{key}"})
        sub = _submodel(info.annotation)
        if sub is not None:
            if not isinstance(value, Mapping):
                raise ConfigError(f"setting {prefix}{key} is a section; set {prefix}{key}.<name>")
            _check_keys(value, sub, prefix=f"{prefix}{key}.")


def is_secret(info: Any) -> bool:
    """Whether a field holds a secret (``SecretStr`` or ``SecretStr | None``)."""
    annotation = info.annotation
    return annotation is SecretStr or SecretStr in get_args(annotation)


def _one_line(text: str) -> str:
    return " ".join(text.split())
