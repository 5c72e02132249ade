// dns-stub: a DNS server for one test, then the test's command.
//
//   dns-stub [--answer NAME=IPv4]... -- COMMAND [ARG]...
//
// Binds UDP 127.0.0.1:53 (run it in a network namespace of the test's own),
// serves from a child process, and execs COMMAND. The child answers A
// queries for the listed names, NODATA for their other types, NXDOMAIN for
// every other name, and writes "dns-stub: query NAME" to stderr for each
// question, so that a test can tell which names were asked for. It dies with
// COMMAND.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

// The question's name, lower-cased, and the offset just past it; npos if malformed.
size_t read_name(const unsigned char* msg, size_t len, size_t at, std::string* name) {
  while (at < len) {
    const size_t label = msg[at++];
    if (label == 0) return at;
    if (label > 63 || at + label > len) return std::string::npos;
    if (!name->empty()) name->push_back('.');
    for (size_t i = 0; i < label; ++i) {
      name->push_back(static_cast<char>(std::tolower(msg[at + i])));
    }
    at += label;
  }
  return std::string::npos;
}

void serve(int fd, const std::map<std::string, in_addr>& answers) {
  unsigned char msg[512];
  for (;;) {
    sockaddr_in from{};
    socklen_t from_len = sizeof(from);
    const ssize_t n =
        ::recvfrom(fd, msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 12) continue;
    std::string name;
    const size_t end = read_name(msg, static_cast<size_t>(n), 12, &name);
    if (end == std::string::npos || end + 4 > static_cast<size_t>(n)) continue;
    std::fprintf(stderr, "dns-stub: query %s\n", name.c_str());
    const uint16_t qtype = static_cast<uint16_t>(msg[end] << 8 | msg[end + 1]);
    const auto found = answers.find(name);
    std::vector<unsigned char> reply(msg, msg + end + 4);           // header + question
    reply[2] = static_cast<unsigned char>(0x80 | (msg[2] & 0x01));  // QR, RD as asked
    reply[3] = found == answers.end() ? 0x83 : 0x80;                // RA; NXDOMAIN or NOERROR
    reply[4] = 0, reply[5] = 1;                                     // one question
    reply[6] = reply[7] = reply[8] = reply[9] = reply[10] = reply[11] = 0;
    if (found != answers.end() && qtype == 1) {
      reply[7] = 1;  // one answer: a pointer to the question's name, A, IN, TTL 0
      const unsigned char rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4};
      reply.insert(reply.end(), rr, rr + sizeof(rr));
      const auto* ip = reinterpret_cast<const unsigned char*>(&found->second);
      reply.insert(reply.end(), ip, ip + 4);
    }
    ::sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, in_addr> answers;
  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    const std::string a = argv[i];
    const size_t eq = i + 1 < argc ? std::string(argv[i + 1]).find('=') : std::string::npos;
    in_addr ip{};
    if (a != "--answer" || eq == std::string::npos ||
        ::inet_pton(AF_INET, argv[i + 1] + eq + 1, &ip) != 1) {
      std::fprintf(stderr, "usage: dns-stub [--answer NAME=IPv4]... -- COMMAND [ARG]...\n");
      return 2;
    }
    answers[std::string(argv[i + 1], eq)] = ip;
    ++i;
  }
  if (i + 1 >= argc) {
    std::fprintf(stderr, "dns-stub: no command after --\n");
    return 2;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(53);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::perror("dns-stub: cannot bind 127.0.0.1:53");
    return 1;
  }
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    std::perror("dns-stub: fork");
    return 1;
  }
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) return 0;  // COMMAND is gone already
    serve(fd, answers);
  }
  ::close(fd);
  ::execvp(argv[i + 1], argv + i + 1);
  std::perror("dns-stub: exec");
  return 127;
}
