#include "mcp/jsonrpc.h"

#include <doctest/doctest.h>

namespace para::mcp::jsonrpc {

TEST_SUITE("mcp/jsonrpc") {
  TEST_CASE("messages are classified, and invalid ones get the right error") {
    struct Row {
      const char* text;
      Kind kind;
      int code;        // for invalid
      const char* id;  // dump of the id read, or "null"
    };
    const Row rows[] = {
        {R"({"jsonrpc":"2.0","id":1,"method":"ping"})", Kind::request, 0, "1"},
        {R"({"jsonrpc":"2.0","id":"a","method":"ping","params":{}})", Kind::request, 0, "\"a\""},
        {R"({"jsonrpc":"2.0","method":"notifications/initialized"})", Kind::notification, 0,
         "null"},
        {R"({"jsonrpc":"2.0","id":7,"result":{}})", Kind::response, 0, "7"},
        {R"({"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"x"}})", Kind::response, 0, "7"},
        {R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", Kind::invalid, kInvalidRequest, "null"},
        {R"("hello")", Kind::invalid, kInvalidRequest, "null"},
        {R"({"id":1,"method":"ping"})", Kind::invalid, kInvalidRequest, "1"},
        {R"({"jsonrpc":"1.0","id":1,"method":"ping"})", Kind::invalid, kInvalidRequest, "1"},
        {R"({"jsonrpc":"2.0","id":null,"method":"ping"})", Kind::invalid, kInvalidRequest, "null"},
        {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", Kind::invalid, kInvalidRequest, "null"},
        {R"({"jsonrpc":"2.0","id":{},"method":"ping"})", Kind::invalid, kInvalidRequest, "null"},
        {R"({"jsonrpc":"2.0","id":1,"method":42})", Kind::invalid, kInvalidRequest, "1"},
        {R"({"jsonrpc":"2.0","id":1,"method":"x","params":[1]})", Kind::invalid, kInvalidParams,
         "1"},
        {R"({"jsonrpc":"2.0","id":1,"method":"x","params":"s"})", Kind::invalid, kInvalidParams,
         "1"},
        {R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})", Kind::invalid, kInvalidRequest, "1"},
        {R"({"jsonrpc":"2.0","result":{}})", Kind::invalid, kInvalidRequest, "null"},
        {R"({"jsonrpc":"2.0","id":1})", Kind::invalid, kInvalidRequest, "1"},
    };
    for (const Row& r : rows) {
      CAPTURE(r.text);
      const Classified c = classify(json::parse(r.text));
      CHECK(c.kind == r.kind);
      CHECK(c.id.dump() == r.id);
      if (r.kind == Kind::invalid) {
        CHECK(c.error.code == r.code);
        CHECK(!c.error.message.empty());
      }
    }
  }

  TEST_CASE("an error response without an id has no id member") {
    const json e = error_response(nullptr, kParseError, "Parse error");
    CHECK_FALSE(e.contains("id"));
    CHECK(e["error"]["code"] == kParseError);
    CHECK(error_response(5, kInternalError, "x", json{{"k", 1}})["error"]["data"]["k"] == 1);
  }

  TEST_CASE("dump never throws on invalid UTF-8 and writes one line") {
    const json m = notification("x", json{{"text", std::string("a\xff\nb")}});
    const std::string line = dump(m);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find("\\n") != std::string::npos);
  }
}

}  // namespace para::mcp::jsonrpc
