#pragma once

// The request checks of the Streamable HTTP transport, as pure functions:
// DNS-rebinding protection (Host and Origin), content negotiation, and the
// bearer token. The TypeScript SDK's hostHeaderValidation.ts, plus Origin.

#include <string>
#include <string_view>
#include <vector>

namespace para::mcp::http_policy {

/// The host part of a Host header value or an authority: "localhost:3000" ->
/// "localhost", "[::1]:80" -> "[::1]", lower-cased.
std::string host_of(std::string_view authority);

/// Host names every loopback server accepts: localhost, 127.0.0.1, [::1].
const std::vector<std::string>& loopback_hosts();

/// Whether a Host header names one of `allowed` (host names as host_of
/// returns them). An empty or missing Host is refused.
bool host_allowed(std::string_view host_header, const std::vector<std::string>& allowed);

/// Whether an Origin header is acceptable: absent (non-browser clients), an
/// http(s) origin whose host is in `allowed_hosts`, or exactly one of
/// `allowed_origins` (compared case-insensitively, without a trailing '/').
/// "null" and malformed origins are refused.
bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed_hosts,
                    const std::vector<std::string>& allowed_origins);

/// Whether an Accept header admits `media_type` ("text/event-stream"),
/// honouring type/* and */* ranges and q=0.
bool accepts(std::string_view accept_header, std::string_view media_type);

/// Whether a Content-Type is application/json (parameters allowed).
bool is_json_content_type(std::string_view content_type);

/// Whether an Authorization header carries "Bearer <token>". Compares in
/// constant time for a given token length.
bool bearer_matches(std::string_view authorization, std::string_view token);

}  // namespace para::mcp::http_policy
