#include "docker/progress.h"

#include <doctest/doctest.h>

#include <vector>

namespace para::docker {
namespace {

using nlohmann::json;

json pull_line(const char* status, const char* id = nullptr, double cur = -1, double total = -1) {
  json j = {{"status", status}};
  if (id) j["id"] = id;
  if (cur >= 0) j["progressDetail"] = {{"current", cur}, {"total", total}};
  return j;
}

}  // namespace

TEST_SUITE("docker/progress") {
  TEST_CASE("pull progress aggregates layers into one rising fraction") {
    PullProgress p;
    std::vector<double> seen;
    const std::vector<json> lines = {
        pull_line("Pulling from library/busybox", "latest"),
        pull_line("Pulling fs layer", "aaa"),
        pull_line("Already exists", "bbb"),
        pull_line("Downloading", "aaa", 50, 100),
        pull_line("Downloading", "aaa", 50.5, 100),  // same percent: no event
        pull_line("Download complete", "aaa"),
        pull_line("Extracting", "aaa", 100, 100),
        pull_line("Pull complete", "aaa"),
        pull_line("Digest: sha256:0123"),
        pull_line("Status: Downloaded newer image for busybox:latest"),
    };
    int events = 0;
    for (const json& l : lines) {
      Result<std::optional<Progress>> r = p.feed(l);
      REQUIRE(r);
      if (*r) {
        ++events;
        if ((*r)->fraction >= 0) seen.push_back((*r)->fraction);
      }
    }
    CHECK(events == 9);
    REQUIRE_FALSE(seen.empty());
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    CHECK(seen.front() == doctest::Approx(0.0));
    CHECK(seen[2] == doctest::Approx((0.25 + 1.0) / 2));  // aaa half downloaded, bbb done
    CHECK(seen.back() == doctest::Approx(1.0));
    CHECK(p.fraction() == doctest::Approx(1.0));
  }

  TEST_CASE("a pull error line becomes an error with the daemon's message") {
    PullProgress p;
    Result<std::optional<Progress>> r = p.feed(
        json{{"errorDetail", {{"message", "manifest unknown"}}}, {"error", "manifest unknown"}});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::tool_failed);
    CHECK(r.error().message == "manifest unknown");
  }

  TEST_CASE("build steps move the fraction and the image id comes from aux") {
    BuildProgress b;
    std::vector<Progress> events;
    for (const json& l : std::vector<json>{
             {{"stream", "Step 1/3 : FROM scratch\n"}},
             {{"stream", " ---> \n"}},
             {{"stream", "Step 2/3 : COPY busybox /bin/busybox\n"}},
             {{"stream", " ---> 1234abcd\n"}},
             {{"stream", "Step 3/3 : RUN [\"/bin/busybox\", \"--install\"]"}},
             {{"stream", "\n"}},
             {{"aux", {{"ID", "sha256:feed"}}}},
             {{"stream", "Successfully built feed\n"}},
         }) {
      Result<std::optional<Progress>> r = b.feed(l);
      REQUIRE(r);
      if (*r) events.push_back(**r);
    }
    REQUIRE(events.size() == 6);
    CHECK(events[0].step);
    CHECK(events[0].fraction == doctest::Approx(0.0));
    CHECK(events[0].message == "Step 1/3 : FROM scratch");
    CHECK_FALSE(events[1].step);
    CHECK(events[2].fraction == doctest::Approx(1.0 / 3));
    CHECK(events[4].message == "Step 3/3 : RUN [\"/bin/busybox\", \"--install\"]");
    CHECK(events[4].fraction == doctest::Approx(2.0 / 3));
    CHECK(b.image_id() == "sha256:feed");
    CHECK(b.finished().fraction == 1.0);
  }

  TEST_CASE("a build error names the step it happened in") {
    BuildProgress b;
    REQUIRE(b.feed(json{{"stream", "Step 2/4 : COPY missing /x\n"}}));
    Result<std::optional<Progress>> r =
        b.feed(json{{"errorDetail", {{"message", "COPY failed: file not found"}}},
                    {"error", "COPY failed: file not found"}});
    REQUIRE_FALSE(r);
    CHECK(r.error().message ==
          "the image build failed at Step 2/4 : COPY missing /x: COPY failed: file not found");
  }
}

}  // namespace para::docker
