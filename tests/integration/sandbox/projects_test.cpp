// Legitimate work inside the sandbox: building and testing a small C project
// and a small Node project in the worktree, with the real toolchains.

#include <doctest/doctest.h>

#include "core/process.h"
#include "tests/integration/sandbox/fixture.h"

namespace para::test {
namespace {

namespace sb = para::sandbox;

bool no_bwrap() {
  return !bwrap_works();
}
bool no_node() {
  return !find_program("node") || !find_program("npm");
}
bool no_cc() {
  return !find_program("cc") || !find_program("make");
}

}  // namespace

TEST_SUITE("sandbox/projects") {
  TEST_CASE("a C project builds and passes its tests in the worktree" *
            doctest::skip(no_bwrap() || no_cc())) {
    SandboxHost h;
    const std::string w = h.worktree;
    write_text(w + "/add.c", "int add(int a, int b) { return a + b; }\n");
    write_text(w + "/add_test.c",
               "#include <stdio.h>\nint add(int, int);\n"
               "int main(void) { if (add(2, 3) != 5) { puts(\"FAIL\"); return 1; }"
               " puts(\"PASS\"); return 0; }\n");
    write_text(w + "/Makefile",
               "test: add_test\n\t./add_test\nadd_test: add.c add_test.c\n\t$(CC) -O1 -o $@ $^\n"
               "clean:\n\trm -f add_test\n");
    const sb::Policy p = h.policy();
    Completed c = in_sandbox(p, {"make", "test"}, std::chrono::seconds(120));
    CAPTURE(c.err);
    CHECK(c.exit_code == 0);
    CHECK(c.out.find("PASS") != std::string::npos);
  }

  TEST_CASE("a Node project runs its tests with npm test in the worktree" *
            doctest::skip(no_bwrap() || no_node())) {
    SandboxHost h;
    const std::string w = h.worktree;
    write_text(w + "/package.json",
               "{\"name\": \"demo\", \"version\": \"1.0.0\", \"private\": true,"
               " \"scripts\": {\"test\": \"node --test\"}}\n");
    write_text(w + "/sum.js", "module.exports = (a, b) => a + b;\n");
    write_text(
        w + "/sum.test.js",
        "const test = require('node:test');\nconst assert = require('node:assert');\n"
        "const sum = require('./sum.js');\n"
        "test('adds', () => assert.strictEqual(sum(2, 3), 5));\n"
        "test('spawns a child', () => {\n"
        "  const r = require('node:child_process').spawnSync('node', ['-e', 'console.log(7)']);\n"
        "  assert.strictEqual(r.stdout.toString().trim(), '7');\n});\n");
    const sb::Policy p = h.policy();
    Completed c = in_sandbox(p, {"npm", "test", "--offline"}, std::chrono::seconds(120));
    CAPTURE(c.out);
    CAPTURE(c.err);
    CHECK(c.exit_code == 0);
    CHECK(c.out.find("pass 2") != std::string::npos);
  }
}

}  // namespace para::test
