// Starts the proxy of Anthropic's sandbox-runtime (npm @anthropic-ai/sandbox-runtime)
// through its documented library API, SandboxManager.initialize(config), and
// prints one JSON line {"port": P, "token": T} on stdout: the loopback HTTP
// proxy port (getProxyPort) and the proxy credential (getProxyAuthToken) that
// srt itself puts into HTTP_PROXY=http://srt:<token>@127.0.0.1:<port> for the
// commands it wraps. The process then stays alive serving the proxy.
//
// usage: node srt_proxy.mjs '["127.0.0.1:9000", "bench.test"]'
import { SandboxManager } from '@anthropic-ai/sandbox-runtime';

const allowedDomains = JSON.parse(process.argv[2] ?? '[]');
await SandboxManager.initialize({
  network: { allowedDomains, deniedDomains: [] },
  filesystem: { denyRead: [], allowWrite: [], denyWrite: [] },
});
await SandboxManager.waitForNetworkInitialization();
process.stdout.write(JSON.stringify({
  port: SandboxManager.getProxyPort(),
  token: SandboxManager.getProxyAuthToken() ?? null,
}) + '\n');
setInterval(() => {}, 1 << 30);
