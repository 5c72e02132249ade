#include "mcp/stdio_transport.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <thread>

#include "mcp/session.h"

namespace para::mcp {

using nlohmann::json;

TEST_SUITE("mcp/stdio_transport") {
  TEST_CASE("lines are split, CR stripped and blank lines skipped, across chunk boundaries") {
    LineFramer f(100);
    auto a = f.feed("{\"a\":1}\r\n\n  \n{\"b\"");
    REQUIRE(a.size() == 1);
    CHECK(a[0].text == "{\"a\":1}");
    auto b = f.feed(":2}\n{\"c\":3}");
    REQUIRE(b.size() == 1);
    CHECK(b[0].text == "{\"b\":2}");
    auto last = f.finish();
    REQUIRE(last);
    CHECK(last->text == "{\"c\":3}");
    CHECK_FALSE(f.finish());
  }

  TEST_CASE("an oversize line is reported once and skipped up to its newline") {
    LineFramer f(10);
    auto frames = f.feed(std::string(8, 'x'));
    CHECK(frames.empty());
    frames = f.feed(std::string(8, 'y'));
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].oversize);
    frames = f.feed(std::string(50, 'z') + "\n{}\n");
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].text == "{}");
  }

  TEST_CASE("serve_stdio answers every line and returns at end of input") {
    Server server({.name = "stdio-test"});
    int in[2], out[2];
    REQUIRE(::pipe(in) == 0);
    REQUIRE(::pipe(out) == 0);
    std::thread serving([&] {
      CHECK(serve_stdio(server, in[0], out[1], {.max_message_bytes = 200}));
      ::close(out[1]);
    });
    const std::string input =
        R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"
        "\n{not json\n" +
        std::string(300, 'x') +
        "\n[]\n"
        R"({"jsonrpc":"2.0","id":2,"method":"ping"})"
        "\n";
    REQUIRE(::write(in[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
    ::close(in[1]);
    std::string output;
    char buf[4096];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;)
      output.append(buf, static_cast<size_t>(n));
    serving.join();
    ::close(in[0]);
    ::close(out[0]);
    std::vector<json> lines;
    size_t start = 0;
    for (size_t nl; (nl = output.find('\n', start)) != std::string::npos; start = nl + 1) {
      lines.push_back(json::parse(output.substr(start, nl - start)));  // every line is JSON
    }
    REQUIRE(lines.size() == 5);
    CHECK(lines[0]["result"]["protocolVersion"] == "2025-11-25");
    CHECK(lines[1]["error"]["code"] == jsonrpc::kParseError);
    CHECK_FALSE(lines[1].contains("id"));
    CHECK(lines[2]["error"]["code"] == jsonrpc::kInvalidRequest);
    CHECK(lines[2]["error"]["message"].get<std::string>().find("200 bytes") != std::string::npos);
    CHECK(lines[3]["error"]["code"] == jsonrpc::kInvalidRequest);
    CHECK(lines[4]["id"] == 2);
  }
}

}  // namespace para::mcp
