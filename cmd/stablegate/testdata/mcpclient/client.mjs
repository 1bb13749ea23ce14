// The official TypeScript MCP SDK's client against a running stablegate: list the tools, create an
// order, read it, and get a clear error for a bad amount. Prints one JSON line for the Go test.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [baseUrl, key] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(baseUrl + "/mcp"), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
const client = new Client({ name: "stablegate-ts-test", version: "1.0.0" });
await client.connect(transport);
const { tools } = await client.listTools();
const order = { orderReference: "ts-1", amount: "12.34", currency: "USDT", chainId: "devnet" };
const created = await client.callTool({ name: "create_order", arguments: order });
const id = created.structuredContent?.data?.orderId;
const read = await client.callTool({ name: "get_order", arguments: { orderId: id } });
const bad = await client.callTool({ name: "create_order", arguments: { ...order, orderReference: "ts-2", amount: "0" } });
console.log(JSON.stringify({
  tools: tools.map((t) => t.name),
  createdIsError: created.isError ?? false,
  id,
  read: read.structuredContent?.data,
  badIsError: bad.isError ?? false,
  badText: bad.content?.[0]?.text,
  badType: bad.structuredContent?.error,
}));
await client.close();
