// Claude Code (pinned in package.json) orchestrating para through
// para-mcp-server, offline: a small fake of the Anthropic Messages API on
// loopback plays the model and answers each turn with the next para tool
// call; Claude Code runs each call through MCP for real and sends the
// result back. This is para's main use: an orchestrating agent fans out a
// session, waits for it, reviews and finishes it.
//
//   node claude_orchestrates.mjs stdio COMMAND [ARGS...]
//   node claude_orchestrates.mjs http URL
//
// run_e2e_repo.sh provides the repository (the current directory), whose
// agent writes work.txt. The model's turns: a para_start with a bad name
// (the tool error must reach the model), para_start, para_wait, para_diff,
// para_finish, then a final answer. Checked: Claude Code reports the server
// connected with para's tools, every result reaches the model, the last
// answer quotes them, and the repository has the commit on para/<name>.
import { spawn, execFileSync } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import http from "node:http";
import os from "node:os";
import path from "node:path";

const [mode, ...target] = process.argv.slice(2);
if (!["stdio", "http"].includes(mode) || target.length === 0) {
  console.error("usage: claude_orchestrates.mjs stdio COMMAND [ARGS...] | http URL");
  process.exit(2);
}
const require = createRequire(import.meta.url);
const claude = path.join(path.dirname(require.resolve("@anthropic-ai/claude-code/package.json")),
  "bin/claude.exe");
const repo = process.cwd();
const session = `claude-${mode}`;

let passed = 0;
let failed = 0;
const check = (ok, what, detail = "") => {
  console.log(`${ok ? "PASS" : "FAIL"} ${what}${!ok && detail ? ` -- ${String(detail).slice(0, 3000)}` : ""}`);
  if (ok) passed++;
  else failed++;
  return ok;
};

// The model's plan: one tool call per turn, then the answer.
const turns = [
  { tool: "para_start", input: { name: "../not-a-name", prompt: "x" } },
  { tool: "para_start", input: { name: session, prompt: "write work.txt" } },
  { tool: "para_wait", input: { session, timeout_seconds: 60 } },
  { tool: "para_diff", input: { session, stat: true } },
  { tool: "para_finish", input: { session, commit_message: "Work done by the agent Claude started" } },
];
const results = [];  // what each tool_result said, in order

// A tool_result's text, whatever shape Claude Code gives its content.
const resultText = (block) =>
  typeof block.content === "string" ? block.content
    : (block.content ?? []).map((c) => c.text ?? "").join("\n");

const fakeApi = http.createServer((req, res) => {
  let data = "";
  req.on("data", (chunk) => (data += chunk));
  req.on("end", () => {
    if (!req.url.startsWith("/v1/messages") || req.url.includes("count_tokens")) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: "fake" } }));
      return;
    }
    const body = JSON.parse(data);
    // The turn is the number of tool results in the conversation so far.
    const blocks = body.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []));
    const done = blocks.filter((b) => b.type === "tool_result");
    results.length = 0;
    for (const b of done) results.push({ error: b.is_error === true, text: resultText(b) });
    const next = turns[done.length];
    const content = next
      ? [{ type: "tool_use", id: `toolu_${done.length}`, name: `mcp__para__${next.tool}`, input: next.input }]
      : [{ type: "text", text: `para finished ${session}: ${results.at(-1)?.text ?? ""}` }];
    const msg = { id: `msg_${done.length}`, type: "message", role: "assistant", model: body.model,
      content, stop_reason: next ? "tool_use" : "end_turn", stop_sequence: null,
      usage: { input_tokens: 1, output_tokens: 1 } };
    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(msg));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const event = (type, fields) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`);
    event("message_start", { message: { ...msg, content: [], stop_reason: null } });
    content.forEach((b, index) => {
      if (b.type === "text") {
        event("content_block_start", { index, content_block: { type: "text", text: "" } });
        event("content_block_delta", { index, delta: { type: "text_delta", text: b.text } });
      } else {
        event("content_block_start", { index, content_block: { ...b, input: {} } });
        event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: JSON.stringify(b.input) } });
      }
      event("content_block_stop", { index });
    });
    event("message_delta", { delta: { stop_reason: msg.stop_reason, stop_sequence: null }, usage: { output_tokens: 1 } });
    event("message_stop", {});
    res.end();
  });
});
await new Promise((resolve) => fakeApi.listen(0, "127.0.0.1", resolve));

const scratch = mkdtempSync(path.join(os.tmpdir(), "para-claude-"));
const server = mode === "stdio"
  ? { type: "stdio", command: target[0], args: target.slice(1) }
  : { type: "http", url: target[0] };
const mcpConfig = path.join(scratch, "mcp.json");
writeFileSync(mcpConfig, JSON.stringify({ mcpServers: { para: server } }));

// Only loopback: the fake API; Claude Code's other traffic is switched off.
const env = {
  HOME: process.env.HOME, PATH: "/usr/local/bin:/usr/bin:/bin",
  ANTHROPIC_API_KEY: "sk-ant-dummy", ANTHROPIC_BASE_URL: `http://127.0.0.1:${fakeApi.address().port}`,
  CLAUDE_CODE_MAX_RETRIES: "0", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
  DISABLE_AUTOUPDATER: "1", DISABLE_TELEMETRY: "1",
  ...(process.env.PARA_BIN ? { PARA_BIN: process.env.PARA_BIN } : {}),
};
const allowed = [...new Set(turns.map((t) => `mcp__para__${t.tool}`))];
const run = await new Promise((resolve) => {
  const child = spawn(claude, ["-p", `Use para to do the work in session ${session}.`,
    "--output-format", "stream-json", "--verbose", "--mcp-config", mcpConfig, "--strict-mcp-config",
    "--allowedTools", ...allowed], { cwd: repo, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (c) => (out += c));
  child.stderr.on("data", (c) => (err += c));
  const timer = setTimeout(() => child.kill("SIGKILL"), 180000);
  child.on("close", (code) => { clearTimeout(timer); resolve({ code, out, err }); });
});
fakeApi.close();
rmSync(scratch, { recursive: true, force: true });

const lines = run.out.split("\n").filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
const init = lines.find((l) => l.type === "system" && l.subtype === "init") ?? {};
const final = lines.find((l) => l.type === "result") ?? {};
check(run.code === 0, "claude -p exits 0", `${run.code}\n${run.err}\n${run.out.slice(-2000)}`);
check((init.mcp_servers ?? []).some((s) => s.name === "para" && s.status === "connected"),
  "Claude Code reports para-mcp-server connected", JSON.stringify(init.mcp_servers));
check(["para_start", "para_finish", "para_list", "para_wait", "para_diff"].every((t) =>
  (init.tools ?? []).includes(`mcp__para__${t}`)), "Claude Code lists para's tools",
  (init.tools ?? []).filter((t) => t.startsWith("mcp__")).join(","));
check(results.length === turns.length, `all ${turns.length} tool results reached the model`,
  JSON.stringify(results));

const [bad, started, waited, diffed, finished] = results;
check(bad?.error === true && /para_start again/.test(bad.text),
  "a bad name comes back to the model as a tool error that says how to fix it", JSON.stringify(bad));
check(started?.error === false && started.text.includes(`session '${session}' started`),
  "para_start's result reaches the model", JSON.stringify(started));
check(waited?.error === false && /"finished":\s*true/.test(waited.text), "para_wait reports the agent done",
  JSON.stringify(waited));
check(diffed?.error === false && diffed.text.includes("work.txt"), "para_diff shows the agent's file",
  JSON.stringify(diffed));
check(finished?.error === false && /"committed":\s*true/.test(finished.text), "para_finish commits",
  JSON.stringify(finished));
check(final.subtype === "success" && String(final.result ?? "").startsWith(`para finished ${session}`),
  "the final answer is the model's", JSON.stringify(final).slice(0, 500));

const git = (...args) => execFileSync("git", ["-C", repo, ...args], { encoding: "utf8" }).trim();
check(git("log", "-1", "--format=%s", `para/${session}`) === "Work done by the agent Claude started",
  "the session branch has the commit");
check(git("show", `para/${session}:work.txt`) === "agent-wrote-this", "the commit holds the agent's work");

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
