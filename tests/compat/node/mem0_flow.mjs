// mem0's TypeScript client (npm "mem0ai"), unchanged, against memsvc serve.
// Runs add -> search -> get -> getAll -> update -> history -> delete -> deleteAll and prints
// what the client returned at each step as one JSON object; tests/compat/test_mem0_node.py
// asserts on it. Usage: MEMSVC_URL=http://127.0.0.1:8765 MEMSVC_KEY=msk_... node mem0_flow.mjs
import MemoryClient from "mem0ai";

const client = new MemoryClient({ apiKey: process.env.MEMSVC_KEY, host: process.env.MEMSVC_URL });
const out = {};

out.add = await client.add(
  [
    { role: "user", content: "I moved to Lisbon last spring and I love surfing." },
    { role: "assistant", content: "Lisbon has great waves nearby." },
  ],
  { userId: "tess", agentId: "travel", metadata: { source: "chat" } },
);
const id = out.add.results[0].id;
out.search = await client.search("Where does Tess live?", { filters: { user_id: "tess" }, topK: 5 });
out.get = await client.get(id);
out.getAll = await client.getAll({ filters: { AND: [{ user_id: "tess" }, { agent_id: "travel" }] } });
out.update = await client.update(id, { text: "I moved to Porto last spring." });
out.history = await client.history(id);
out.delete = await client.delete(id);
try {
  await client.get(id);
  out.getAfterDelete = "found";
} catch (error) {
  out.getAfterDelete = error.name;
}
out.deleteAll = await client.deleteAll({ userId: "tess" });
out.getAllAfter = await client.getAll({ filters: { user_id: "tess" } });
try {
  await client.search("x", { filters: { NOT: [{ user_id: "tess" }] } });
  out.unsupported = "accepted";
} catch (error) {
  out.unsupported = { name: error.name, message: error.message };
}
console.log(JSON.stringify(out));
