// para-mcp-server through the official MCP Inspector's CLI
// (@modelcontextprotocol/inspector, pinned in package.json), over stdio or
// Streamable HTTP: every call is a fresh `inspector --cli` process, as a
// person debugging a server would run it.
//
//   node inspector_checks.mjs stdio COMMAND [ARGS...]
//   node inspector_checks.mjs http URL
//
// run_e2e_repo.sh provides a fresh repository whose agent writes work.txt.
// Checked: initialize; tools/list with --strict (the Inspector's schema
// portability lint: no finding at all); a whole session (para_start,
// para_wait, para_diff, para_finish, para_list) with structuredContent;
// resources and prompts; the exit codes and messages of bad input; and a
// bounded --load run of para_list. Exit 0 only if every check passed.
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

const [mode, ...target] = process.argv.slice(2);
if (!["stdio", "http"].includes(mode) || target.length === 0) {
  console.error("usage: inspector_checks.mjs stdio COMMAND [ARGS...] | http URL");
  process.exit(2);
}
const require = createRequire(import.meta.url);
const launcher = path.join(
  path.dirname(require.resolve("@modelcontextprotocol/inspector/package.json")),
  "clients/launcher/build/index.js");

let passed = 0;
let failed = 0;
const check = (ok, what, detail = "") => {
  console.log(`${ok ? "PASS" : "FAIL"} ${what}${!ok && detail ? ` -- ${String(detail).slice(0, 2000)}` : ""}`);
  if (ok) passed++;
  else failed++;
  return ok;
};

// One Inspector run: {code, out (parsed stdout JSON or null), err}.
const inspect = (args) =>
  new Promise((resolve) => {
    // The target first: --tool-arg and --prompt-args take every word after them.
    const argv = [launcher, "--cli", "--format", "json", "-q", ...target, ...args];
    execFile(process.execPath, argv, { timeout: 120000, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        let out = null;
        try { out = JSON.parse(stdout); } catch { /* stays null */ }
        resolve({ code: error ? (error.code ?? 1) : 0, out, err: stderr, raw: stdout });
      });
  });

const call = (tool, args = {}, extra = []) => {
  const pairs = Object.entries(args).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return inspect(["--method", "tools/call", "--tool-name", tool,
    ...(pairs.length ? ["--tool-arg", ...pairs] : []), ...extra]);
};

const session = `inspector-${mode}`;

// initialize
{
  const r = await inspect(["--method", "initialize"]);
  const res = r.out?.result ?? {};
  check(r.code === 0 && res.serverInfo?.name === "para-mcp-server", "initialize names para-mcp-server", r.err);
  check(res.protocolVersion === "2025-11-25", "initialize negotiates 2025-11-25", res.protocolVersion);
  check(["tools", "resources", "prompts", "logging"].every((c) => res.capabilities?.[c]),
    "initialize announces tools, resources, prompts and logging", JSON.stringify(res.capabilities));
}

// tools/list --strict: the portability lint finds nothing, in input or output schemas.
{
  const r = await inspect(["--method", "tools/list", "--strict"]);
  const tools = r.out?.result?.tools ?? [];
  const names = tools.map((t) => t.name);
  check(r.code === 0, "tools/list --strict exits 0", `${r.code} ${r.err}`);
  const expected = ["para_start", "para_finish", "para_resume", "para_list", "para_recover",
    "para_config_show", "para_config_set", "para_cancel", "para_status_show", "para_logs",
    "para_diff", "para_network_log", "para_wait"];
  check(expected.every((n) => names.includes(n)), "tools/list has para's tools", names.join(","));
  check(tools.every((t) => t.inputSchema?.type === "object" && t.outputSchema?.type === "object" &&
    t.annotations && typeof t.description === "string"),
    "every tool has input and output schemas, annotations and a description");
  const findings = (r.out?.schemaFindings ?? []).flatMap((t) =>
    t.findings.map((f) => `${t.toolName} ${f.schema} ${f.path}: ${f.rule}`));
  check(findings.length === 0, "the schema portability lint finds nothing", findings.join("\n"));
}

// A whole session, each answer with structuredContent.
{
  let r = await call("para_list");
  check(r.code === 0 && Array.isArray(r.out?.result?.structuredContent?.sessions) &&
    r.out.result.structuredContent.sessions.length === 0, "para_list on a fresh repository is empty", r.raw);

  r = await call("para_start", { name: session, prompt: "write work.txt, then stop" });
  check(r.code === 0 && r.out?.result?.structuredContent?.session?.name === session &&
    r.out.result.structuredContent.agent_launched === true, "para_start launches the agent", r.raw + r.err);

  r = await call("para_wait", { session, timeout_seconds: 60 });
  check(r.code === 0 && r.out?.result?.structuredContent?.finished === true, "para_wait sees the agent finish", r.raw);

  r = await call("para_diff", { session, stat: true });
  check(r.code === 0 && r.out?.result?.structuredContent?.files_changed >= 1 &&
    /work\.txt/.test(r.out.result.structuredContent.diff ?? ""), "para_diff --stat shows work.txt", r.raw);

  r = await call("para_finish", { session, commit_message: "Inspector: the agent's work" });
  const fin = r.out?.result?.structuredContent ?? {};
  check(r.code === 0 && fin.committed === true && fin.branch === `para/${session}`,
    "para_finish commits to the session branch", r.raw);

  r = await call("para_list");
  const listed = (r.out?.result?.structuredContent?.sessions ?? []).find((s) => s.name === session);
  check(listed?.status === "Review", "para_list shows the session in Review", JSON.stringify(listed));
}

// Resources and prompts.
{
  let r = await inspect(["--method", "resources/list"]);
  const uris = (r.out?.result?.resources ?? []).map((x) => x.uri);
  check(r.code === 0 && uris.includes("para://config") && uris.includes("para://sessions"),
    "resources/list has para://config and para://sessions", uris.join(","));

  r = await inspect(["--method", "resources/templates/list"]);
  const templates = (r.out?.result?.resourceTemplates ?? []).map((x) => x.uriTemplate);
  check(r.code === 0 && templates.includes("para://sessions/{name}"),
    "resources/templates/list has para://sessions/{name}", templates.join(","));

  r = await inspect(["--method", "resources/read", "--uri", `para://sessions/${session}`]);
  let doc = null;
  try { doc = JSON.parse(r.out?.result?.contents?.[0]?.text ?? ""); } catch { /* null */ }
  check(r.code === 0 && doc?.name === session, "resources/read para://sessions/NAME is the session", r.raw);

  r = await inspect(["--method", "prompts/list"]);
  const prompts = (r.out?.result?.prompts ?? []).map((p) => p.name);
  check(r.code === 0 && prompts.includes("para_dispatch"), "prompts/list has para_dispatch", prompts.join(","));

  r = await inspect(["--method", "prompts/get", "--prompt-name", "para_dispatch",
    "--prompt-args", "goal=split the parser work"]);
  const text = (r.out?.result?.messages ?? []).map((m) => m.content?.text ?? "").join("\n");
  check(r.code === 0 && text.includes("split the parser work"), "prompts/get para_dispatch uses the goal", r.raw);

  r = await inspect(["--method", "logging/setLevel", "--log-level", "debug"]);
  check(r.code === 0, "logging/setLevel is accepted", r.err);
}

// Bad input: the Inspector's exit codes (5 = tool error, 1 = JSON-RPC error)
// and messages that say what to do.
{
  let r = await call("para_start", { name: "../escape" });
  const text = r.out?.result?.content?.map((c) => c.text).join("\n") ?? "";
  check(r.code === 5 && r.out?.result?.isError === true && /para_start again/.test(text),
    "a bad session name is a tool error that says how to fix it", `${r.code} ${r.raw}`);

  r = await call("para_finish", { session: "no-such-session", commit_message: "x" });
  check(r.code === 5 && /no session 'no-such-session'/.test(JSON.stringify(r.out)),
    "finishing an unknown session is a tool error naming it", `${r.code} ${r.raw}`);

  r = await call("no_such_tool");
  check(r.code === 5 && /tool_not_found/.test(r.err), "an unknown tool is reported as not found", `${r.code} ${r.err}`);

  r = await inspect(["--method", "prompts/get", "--prompt-name", "nope"]);
  check(r.code === 1 && /prompts\/list/.test(r.err), "an unknown prompt is a JSON-RPC error", `${r.code} ${r.err}`);

  r = await inspect(["--method", "resources/read", "--uri", "para://sessions/nope"]);
  check(r.code === 1 && /no session 'nope'/.test(r.err), "an unknown session resource is an error naming it",
    `${r.code} ${r.err}`);
}

// A bounded load run: 200 para_list calls, 8 in flight.
{
  const r = await call("para_list", {}, ["--load", "--load-requests", "200", "--load-concurrency", "8"]);
  const s = r.out?.result ?? {};
  check(r.code === 0 && s.requests === 200 && s.ok === 200 && s.errors === 0 && s.toolErrors === 0,
    "200 concurrent para_list calls all succeed", r.raw + r.err);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
