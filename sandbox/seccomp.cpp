#include "sandbox/seccomp.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>
#include <vector>

namespace para::sandbox {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kArch = AUDIT_ARCH_X86_64;
constexpr bool kHasX32 = true;
#elif defined(__aarch64__)
constexpr uint32_t kArch = AUDIT_ARCH_AARCH64;
constexpr bool kHasX32 = false;
#else
#error "the seccomp filter knows x86_64 and aarch64 only"
#endif

constexpr uint32_t kErrno = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);

sock_filter stmt(uint16_t code, uint32_t k) {
  return sock_filter{code, 0, 0, k};
}
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return sock_filter{code, jt, jf, k};
}

}  // namespace

std::string sandbox_filter(bool refuse_unix_sockets) {
  std::vector<sock_filter> f;
  // Foreign architecture: refuse everything.
  f.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0));
  f.push_back(stmt(BPF_RET | BPF_K, kErrno));
  f.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  if (kHasX32) {
    f.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));  // __X32_SYSCALL_BIT
    f.push_back(stmt(BPF_RET | BPF_K, kErrno));
  }
  for (uint32_t nr : {uint32_t(__NR_io_uring_setup), uint32_t(__NR_io_uring_enter),
                      uint32_t(__NR_io_uring_register), uint32_t(__NR_keyctl),
                      uint32_t(__NR_add_key), uint32_t(__NR_request_key)}) {
    f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1));
    f.push_back(stmt(BPF_RET | BPF_K, kErrno));
  }
  if (refuse_unix_sockets) {
    // socket(domain, ...): the low 32 bits of args[0] (little-endian).
    f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3));
    f.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])));
    f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1));
    f.push_back(stmt(BPF_RET | BPF_K, kErrno));
  }
  f.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  return std::string(reinterpret_cast<const char*>(f.data()), f.size() * sizeof(sock_filter));
}

}  // namespace para::sandbox
