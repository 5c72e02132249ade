// The docker integration suite's main: it needs a Docker Engine and skips
// (exit 77, Meson's SKIP) only when there is no daemon socket at all. A socket
// that is there but unusable fails the tests instead. CI starts dockerd.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>

#include "tests/docker/fixtures.h"

int main(int argc, char** argv) {
  // As in para's executables: a peer that closed its end is an error return,
  // not death (OpenSSL writes TLS alerts with write(2), without MSG_NOSIGNAL).
  ::signal(SIGPIPE, SIG_IGN);
  if (!para::docker::test::docker_available()) {
    std::fprintf(stderr,
                 "SKIP: no Docker daemon socket (set DOCKER_HOST or start dockerd; CI does)\n");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
