// End-to-end test of an MCP server with the official TypeScript SDK client
// (@modelcontextprotocol/sdk, pinned in package.json), over stdio or
// Streamable HTTP, following a plan of tool calls.
//
//   node e2e_client.mjs PLAN.json stdio COMMAND [ARGS...]
//   node e2e_client.mjs PLAN.json http URL
//
// Always checked: initialize (serverInfo, instructions), ping, tools/list
// (every tool has a description and an object inputSchema), resources/list,
// resources/templates/list, prompts/list, an unknown tool answered with a
// JSON-RPC error, and (HTTP) session termination. Then each plan step:
//
//   {"name": "start a session",          // optional label
//    "tool": "para_start", "arguments": {"name": "${session}"},
//    "progress": true,                   // send a progressToken, count notifications
//    "timeoutMs": 60000,
//    "expect": {"isError": false,        // default false
//               "text": "regex",         // must match the joined text content
//               "minProgress": 1,        // at least this many progress notifications
//               "structured": true},     // structuredContent must be present
//    "save": {"session": "structuredContent.name"}}   // for "${session}" later
//
// The SDK validates structuredContent against each tool's outputSchema.
// Plan-level "vars" seed the variables. Exit 0 only if every check passed;
// the last line is "N passed, M failed".
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema, LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [planPath, mode, target, ...rest] = process.argv.slice(2);
if (!planPath || !["stdio", "http"].includes(mode) || !target) {
  console.error("usage: e2e_client.mjs PLAN.json stdio COMMAND [ARGS...] | PLAN.json http URL");
  process.exit(2);
}
const plan = JSON.parse(readFileSync(planPath, "utf8"));
const vars = { ...(plan.vars ?? {}) };

let passed = 0;
let failed = 0;
const check = (ok, what, detail = "") => {
  console.log(`${ok ? "PASS" : "FAIL"} ${what}${detail ? ` -- ${detail}` : ""}`);
  if (ok) passed++;
  else failed++;
  return ok;
};

// "${name}" in any string of the arguments becomes the saved value.
const substitute = (value) => {
  if (typeof value === "string") {
    const whole = value.match(/^\$\{(\w+)\}$/);
    if (whole) return vars[whole[1]];
    return value.replace(/\$\{(\w+)\}/g, (_, k) => String(vars[k]));
  }
  if (Array.isArray(value)) return value.map(substitute);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v)]));
  }
  return value;
};
const pick = (object, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), object);

const transport =
  mode === "stdio"
    ? new StdioClientTransport({ command: target, args: rest, stderr: "inherit" })
    : new StreamableHTTPClientTransport(new URL(target));
const client = new Client({ name: "para-e2e-client", version: "1.0.0" }, { capabilities: {} });
const logs = [];
client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));

try {
  await client.connect(transport);
  const info = client.getServerVersion();
  check(!!info?.name, "initialize", `${info?.name}@${info?.version}`);
  check(typeof client.getInstructions() === "string" && client.getInstructions().length > 0,
    "initialize returns instructions");
  check(JSON.stringify(await client.ping()) === "{}", "ping");

  const { tools } = await client.listTools();
  const badTools = tools.filter((t) => !t.description || t.inputSchema?.type !== "object");
  check(badTools.length === 0, `tools/list (${tools.length} tools)`,
    badTools.length ? `without description or object inputSchema: ${badTools.map((t) => t.name)}` : "");
  const { resources } = await client.listResources();
  check(Array.isArray(resources), `resources/list (${resources.length})`);
  const { resourceTemplates } = await client.listResourceTemplates();
  check(Array.isArray(resourceTemplates), `resources/templates/list (${resourceTemplates.length})`);
  const { prompts } = await client.listPrompts();
  check(Array.isArray(prompts), `prompts/list (${prompts.length})`);

  for (const step of plan.steps ?? []) {
    const label = step.name ?? step.tool;
    const expect = { isError: false, ...(step.expect ?? {}) };
    const progress = [];
    const args = substitute(step.arguments ?? {});
    const options = { timeout: step.timeoutMs ?? 60000 };
    if (step.progress) {
      options.onprogress = (p) => progress.push(p);
      options.resetTimeoutOnProgress = true;
    }
    let result;
    try {
      result = await client.callTool({ name: step.tool, arguments: args }, CallToolResultSchema, options);
    } catch (e) {
      check(false, label, `threw ${e?.code ?? ""} ${e?.message ?? e}`);
      continue;
    }
    const text = (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
    const problems = [];
    if (!!result.isError !== expect.isError) problems.push(`isError=${!!result.isError}: ${text}`);
    if (expect.text && !new RegExp(expect.text).test(text)) problems.push(`text ${JSON.stringify(text)} !~ /${expect.text}/`);
    if (expect.minProgress && progress.length < expect.minProgress) problems.push(`${progress.length} progress notifications`);
    if (expect.structured && result.structuredContent === undefined) problems.push("no structuredContent");
    if (!result.isError && text.length === 0 && (result.content ?? []).length === 0) problems.push("no content");
    check(problems.length === 0, label,
      problems.length ? problems.join("; ") : `${progress.length ? `${progress.length} progress, ` : ""}${text.slice(0, 80)}`);
    for (const [name, path] of Object.entries(step.save ?? {})) vars[name] = pick(result, path);
  }

  try {
    const r = await client.callTool({ name: "no_such_tool_e2e", arguments: {} });
    check(false, "unknown tool is a JSON-RPC error", `got a result: ${JSON.stringify(r)}`);
  } catch (e) {
    check(e?.code === -32602, "unknown tool is a JSON-RPC error", `code ${e?.code}`);
  }
  check(JSON.stringify(await client.ping()) === "{}", "ping after the plan");
  if (mode === "http") {
    await transport.terminateSession();
    check(transport.sessionId === undefined, "session terminated (HTTP DELETE)");
  }
} catch (e) {
  check(false, "unexpected exception", e?.stack ?? String(e));
} finally {
  await client.close().catch(() => {});
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
