"""Use memsvc as MCP tools, the way an agent framework does: launch the server named in
``mcp_config.json`` over stdio and call its tools.

    python examples/mcp_example.py                      # the configured store (~/.memsvc)
    python examples/mcp_example.py --data-dir /tmp/memsvc-mcp --hashing

``mcp_config.json`` is in the format Claude Desktop, Cursor and most MCP hosts read: paste its
``memsvc`` entry into the host's configuration to give an assistant long-term memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

CONFIG = Path(__file__).with_name("mcp_config.json")


def server_parameters(data_dir: Path | None, *, hashing: bool) -> StdioServerParameters:
    """The ``memsvc`` entry of mcp_config.json, pointed at ``data_dir`` when given."""
    entry = json.loads(CONFIG.read_text())["mcpServers"]["memsvc"]
    search_path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    command = shutil.which(entry["command"], path=search_path) or entry["command"]
    env = dict(entry.get("env", {}))
    if data_dir is not None:
        env["MEMSVC_DB__URL"] = f"sqlite:///{data_dir / 'memsvc.db'}"
        env["MEMSVC_INDEX__DIR"] = str(data_dir / "index")
    if hashing:
        env["MEMSVC_EMBED__BACKEND"] = "hashing"
    return StdioServerParameters(command=command, args=entry["args"], env=env)


def _result(call: Any) -> Any:
    if call.is_error:
        return {"error": call.content[0].text}
    return call.structured_content


async def session(params: StdioServerParameters) -> dict[str, Any]:
    """List the tools, then add, search, update, read the history of and delete a memory."""
    async with Client(params) as client:
        tools = sorted(t.name for t in (await client.list_tools()).tools)
        print("tools:", ", ".join(tools))
        added = _result(await client.call_tool("add", {"messages": "I'm allergic to peanuts."}))
        memory_id = added["events"][0]["id"]
        found = _result(await client.call_tool("search", {"query": "food allergy", "top_k": 1}))
        print("search ->", found["hits"][0]["memory"]["content"])
        await client.call_tool("update", {"memory_id": memory_id, "content": "Allergic to nuts."})
        history = _result(await client.call_tool("history", {"memory_id": memory_id}))
        await client.call_tool("delete", {"memory_id": memory_id})
        missing = _result(await client.call_tool("get", {"memory_id": memory_id}))
        print("after delete ->", missing)
        return {"tools": tools, "found": found, "history": history, "missing": missing}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="store under this folder")
    parser.add_argument("--hashing", action="store_true", help="hashing embedder (no model)")
    args = parser.parse_args(argv)
    outcome = asyncio.run(session(server_parameters(args.data_dir, hashing=args.hashing)))
    is_ok = "memory_not_found" in outcome["missing"].get("error", "")
    return 0 if is_ok else 1


if __name__ == "__main__":
    sys.exit(main())
