#include "docker/images.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "core/fs.h"
#include "docker/containers.h"
#include "tests/docker/fixtures.h"
#include "tests/docker/result_printer.h"
#include "tests/support/support.h"

namespace para::docker {
namespace {

// Removes a test image when the test ends.
struct ScopedImage {
  const Client& client;
  std::string reference;
  ~ScopedImage() { (void)remove_image(client, reference, true); }
};

}  // namespace

TEST_SUITE("docker/images") {
  TEST_CASE("the busybox test image is built locally and carries the test label") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    Result<ImageInfo> info = inspect_image(client, test::kTestImage);
    REQUIRE(info);
    CHECK(info->labels[test::kTestLabel] == "1");
    CHECK(std::find(info->tags.begin(), info->tags.end(), test::kTestImage) != info->tags.end());
    Result<bool> exists = image_exists(client, test::kTestImage);
    REQUIRE(exists);
    CHECK(*exists);
  }

  TEST_CASE("a build streams its steps as rising progress and ends at 1") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    para::test::TempDir context;
    para::test::write_text(context / "Dockerfile",
                           std::string("FROM ") + test::kTestImage +
                               "\nCOPY greeting /greeting\nRUN [\"cat\", \"/greeting\"]\n"
                               "COPY added /added\n");
    para::test::write_text(context / "greeting", "hello from the build\n");
    para::test::write_text(context / "extra-host-file", "added from the host\n");
    const std::string tag = "para-test-build-" + random_hex(4) + ":latest";
    ScopedImage cleanup{client, tag};
    std::vector<Progress> events;
    BuildOptions options;
    options.context_dir = context.path();
    options.tag = tag;
    options.labels = {{test::kTestLabel, "1"}};
    options.extra_files = {{context / "extra-host-file", "added"}};
    options.no_cache = true;
    Result<BuildResult> built =
        build_image(client, options, [&](const Progress& p) { events.push_back(p); });
    REQUIRE(built);
    CHECK(built->image_id.starts_with("sha256:"));
    std::vector<std::string> steps;
    std::vector<double> fractions;
    bool saw_run_output = false;
    for (const Progress& p : events) {
      if (p.step && p.message.starts_with("Step ")) steps.push_back(p.message);
      fractions.push_back(p.fraction);
      if (p.message == "hello from the build") saw_run_output = true;
    }
    std::string all_steps;
    for (const std::string& st : steps) all_steps += st + "\n";
    CAPTURE(all_steps);
    // The labels of BuildOptions become a last LABEL step.
    CHECK(steps == std::vector<std::string>{"Step 1/5 : FROM " + std::string(test::kTestImage),
                                            "Step 2/5 : COPY greeting /greeting",
                                            "Step 3/5 : RUN [\"cat\", \"/greeting\"]",
                                            "Step 4/5 : COPY added /added",
                                            "Step 5/5 : LABEL dev.para.test=1"});
    CHECK(saw_run_output);
    CHECK(std::is_sorted(fractions.begin(), fractions.end()));
    CHECK(fractions.back() == 1.0);
    Result<ImageInfo> info = inspect_image(client, tag);
    REQUIRE(info);
    CHECK(info->id == built->image_id);
  }

  TEST_CASE("a failing build names the step and the reason") {
    const Client& client = test::test_client();
    test::ensure_test_image(client);
    para::test::TempDir context;
    para::test::write_text(context / "Dockerfile",
                           std::string("FROM ") + test::kTestImage + "\nCOPY missing-file /x\n");
    const std::string tag = "para-test-broken-" + random_hex(4) + ":latest";
    ScopedImage cleanup{client, tag};
    Result<BuildResult> built = build_image(client, {.context_dir = context.path(), .tag = tag});
    REQUIRE_FALSE(built);
    CHECK(built.error().code == Errc::tool_failed);
    CHECK(built.error().message.find("at Step 2/2 : COPY missing-file /x") != std::string::npos);
    CHECK(built.error().message.find("missing-file") != std::string::npos);
  }

  TEST_CASE("a build context without a Dockerfile is refused before anything is sent") {
    const Client& client = test::test_client();
    para::test::TempDir context;
    Result<BuildResult> built = build_image(client, {.context_dir = context.path()});
    REQUIRE_FALSE(built);
    CHECK(built.error().code == Errc::not_found);
    CHECK(built.error().message.find("no Dockerfile") != std::string::npos);
    Result<BuildResult> nodir = build_image(client, {.context_dir = context / "nope"});
    REQUIRE_FALSE(nodir);
    CHECK(nodir.error().message.find("not a directory") != std::string::npos);
  }

  TEST_CASE("pulling from an unreachable registry is a clear error") {
    const Client& client = test::test_client();
    std::vector<Progress> events;
    Result<std::string> pulled =
        pull_image(client, "127.0.0.1:1/none", [&](const Progress& p) { events.push_back(p); });
    REQUIRE_FALSE(pulled);
    CHECK(pulled.error().code == Errc::unavailable);
    CHECK(pulled.error().message.find("pull 127.0.0.1:1/none:latest failed: the registry cannot "
                                      "be reached") != std::string::npos);
    CHECK(pulled.error().message.find("para docker build-image") != std::string::npos);
  }

  TEST_CASE("a missing image is a not_found error that says how to build or pull it") {
    const Client& client = test::test_client();
    const std::string image = "para-test-missing-" + random_hex(4) + ":latest";
    Result<ImageInfo> info = inspect_image(client, image);
    REQUIRE_FALSE(info);
    CHECK(info.error().code == Errc::not_found);
    ContainerSpec spec = test::test_spec({"true"});
    spec.image = image;
    Result<std::string> id = create_container(client, spec);
    REQUIRE_FALSE(id);
    CHECK(id.error().code == Errc::not_found);
    CHECK(id.error().message.find("the image " + image + " is not on the Docker engine") !=
          std::string::npos);
    CHECK(id.error().message.find("para docker build-image DIR --tag " + image) !=
          std::string::npos);
    CHECK(id.error().message.find("para docker pull " + image) != std::string::npos);
  }
}

}  // namespace para::docker
