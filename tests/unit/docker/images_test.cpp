#include "docker/images.h"

#include <doctest/doctest.h>

namespace para::docker {

TEST_SUITE("docker/images") {
  TEST_CASE("image references get docker's default tag") {
    CHECK(normalize_image_reference("busybox") == "busybox:latest");
    CHECK(normalize_image_reference("127.0.0.1:5000/team/img") == "127.0.0.1:5000/team/img:latest");
    CHECK(normalize_image_reference("img:1.2") == "img:1.2");
    CHECK(normalize_image_reference("img@sha256:abcd") == "img@sha256:abcd");
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
