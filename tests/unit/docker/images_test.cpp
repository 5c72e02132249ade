#include "docker/images.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace para::docker {

TEST_SUITE("docker/images") {
  TEST_CASE("image references get docker's default tag") {
    CHECK(normalize_image_reference("busybox") == "busybox:latest");
    CHECK(normalize_image_reference("127.0.0.1:5000/team/img") == "127.0.0.1:5000/team/img:latest");
    CHECK(normalize_image_reference("img:1.2") == "img:1.2");
    CHECK(normalize_image_reference("img@sha256:abcd") == "img@sha256:abcd");
  }

  TEST_CASE("image references are checked before they go into a URL") {
    for (const char* good :
         {"busybox", "para-test-busybox:latest", "img:1.2", "img@sha256:abcd",
          "127.0.0.1:5000/team/img", "registry.example:5000/team/agent:1.2", "a/b_c/d.e:_t"}) {
      CAPTURE(good);
      CHECK(check_image_reference(good));
    }
    for (const std::string& bad : std::vector<std::string>{
             "", "../../etc/passwd", "x?a=1#y", "a\nb", "a b", "-rm", "img:", "img:a/b", "/img",
             "team//img", "UPPER:case%", std::string(600, 'a')}) {
      CAPTURE(bad);
      Result<void> r = check_image_reference(bad);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::invalid_argument);
      CHECK(r.error().message.find("not an image reference") != std::string::npos);
      CHECK(r.error().message.find('\n') == std::string::npos);  // control bytes are not echoed
      CHECK(r.error().message.size() < 300);                     // nor is a huge reference
    }
  }

  TEST_CASE("the missing-image error says how to build or pull the image") {
    Endpoint ep;
    const Error e = missing_image_error("para-agent:latest", ep);
    CHECK(e.code == Errc::not_found);
    CHECK(e.message ==
          "the image para-agent:latest is not on the Docker engine at unix:///var/run/docker.sock: "
          "build it with 'para docker build-image DIR --tag para-agent:latest' "
          "(examples/agent-image builds para's default image) or pull it with "
          "'para docker pull para-agent:latest'");
  }
}

}  // namespace para::docker
