/* probe: one real system call attempt per invocation, for the sandbox escape
 * suite. Each subcommand tries one thing and reports it on stdout:
 *   "ALLOWED ..." and exit 0 when the attempt succeeded,
 *   "BLOCKED <errno name>: ..." and exit 1 when the kernel refused it,
 *   exit 2 for a usage error.
 * Nothing here decides policy; the tests compare the answers with what the
 * policy says. Plain C so that it runs in any sandbox without C++ runtime
 * surprises. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int allowed(const char* what) {
  printf("ALLOWED %s\n", what);
  return 0;
}

static int blocked(const char* what) {
  const int e = errno;
  printf("BLOCKED %s: %s\n", strerrorname_np(e) ? strerrorname_np(e) : "?", what);
  return 1;
}

static int do_write(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return blocked(path);
  if (write(fd, "probe\n", 6) != 6) {
    close(fd);
    return blocked(path);
  }
  close(fd);
  return allowed(path);
}

static int do_append(const char* path) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return blocked(path);
  if (write(fd, "probe\n", 6) != 6) {
    close(fd);
    return blocked(path);
  }
  close(fd);
  return allowed(path);
}

/* Prints the first bytes read so that tests can look for secret markers. */
static int do_read(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return blocked(path);
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) return blocked(path);
  if (n == 0) {
    errno = ENODATA;
    return blocked(path);
  }
  buf[n] = '\0';
  printf("CONTENT %s\n", buf);
  return allowed(path);
}

static int do_list(const char* path) {
  DIR* d = opendir(path);
  if (d == NULL) return blocked(path);
  int count = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    printf("ENTRY %s\n", e->d_name);
    ++count;
  }
  closedir(d);
  if (count == 0) {
    errno = ENODATA;
    return blocked(path);
  }
  return allowed(path);
}

static int connect_unix(const char* path, int abstract) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return blocked("socket(AF_UNIX)");
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  size_t len = strlen(path);
  if (len + 2 > sizeof a.sun_path) {
    errno = ENAMETOOLONG;
    return blocked(path);
  }
  memcpy(a.sun_path + (abstract ? 1 : 0), path, len);
  socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (abstract ? 1 : 0));
  if (connect(fd, (struct sockaddr*)&a, alen) != 0) {
    close(fd);
    return blocked(path);
  }
  /* A real peer answers; the test servers write "hello". */
  char buf[16] = {0};
  struct pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, 2000) == 1 && read(fd, buf, sizeof buf - 1) > 0) printf("PEER %s\n", buf);
  close(fd);
  return allowed(path);
}

static int parse_addr(const char* host, int port, struct sockaddr_storage* ss, socklen_t* len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in* v4 = (struct sockaddr_in*)ss;
  struct sockaddr_in6* v6 = (struct sockaddr_in6*)ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((unsigned short)port);
    *len = sizeof *v4;
    return AF_INET;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((unsigned short)port);
    *len = sizeof *v6;
    return AF_INET6;
  }
  return -1;
}

static int do_tcp(const char* host, int port) {
  struct sockaddr_storage ss;
  socklen_t len;
  int family = parse_addr(host, port, &ss, &len);
  if (family < 0) return 2;
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return blocked("socket");
  if (connect(fd, (struct sockaddr*)&ss, len) != 0) {
    close(fd);
    return blocked(host);
  }
  char buf[16] = {0};
  struct pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, 2000) == 1 && read(fd, buf, sizeof buf - 1) > 0) printf("PEER %s\n", buf);
  close(fd);
  return allowed(host);
}

/* Sends one datagram (a DNS-shaped query when dns is set) and waits briefly
 * for an answer. "ALLOWED" means a reply came back. */
static int do_udp(const char* host, int port, int dns) {
  struct sockaddr_storage ss;
  socklen_t len;
  int family = parse_addr(host, port, &ss, &len);
  if (family < 0) return 2;
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return blocked("socket");
  static const unsigned char query[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                        0x00, 0x00, 0x04, 'l',  'e',  'a',  'k',  0x07, 'e',  'x',
                                        'a',  'm',  'p',  'l',  'e',  0x00, 0x00, 0x10, 0x00, 0x01};
  const void* msg = dns ? (const void*)query : (const void*)"probe";
  size_t msg_len = dns ? sizeof query : 5;
  if (sendto(fd, msg, msg_len, 0, (struct sockaddr*)&ss, len) < 0) {
    close(fd);
    return blocked(host);
  }
  /* The socket's own port, picked by sendto: in a network namespace where
   * the destination port is free, it can be that very port, and the
   * datagram then comes back to this socket. That is not a reply. */
  struct sockaddr_storage self;
  socklen_t self_len = sizeof self;
  memset(&self, 0, sizeof self);
  getsockname(fd, (struct sockaddr*)&self, &self_len);
  const unsigned short own_port = family == AF_INET ? ((struct sockaddr_in*)&self)->sin_port
                                                    : ((struct sockaddr_in6*)&self)->sin6_port;
  char buf[64];
  struct pollfd p = {fd, POLLIN, 0};
  while (poll(&p, 1, 1000) == 1) {
    struct sockaddr_storage from;
    socklen_t from_len = sizeof from;
    if (recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr*)&from, &from_len) <= 0) break;
    const unsigned short from_port = family == AF_INET ? ((struct sockaddr_in*)&from)->sin_port
                                                       : ((struct sockaddr_in6*)&from)->sin6_port;
    if (from_port == own_port) continue; /* our own datagram */
    close(fd);
    return allowed(host);
  }
  close(fd);
  errno = ETIMEDOUT;
  return blocked(host);
}

static int do_icmp(const char* host) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return 2;
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (fd < 0) fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (fd < 0) return blocked("icmp socket");
  struct icmphdr h;
  memset(&h, 0, sizeof h);
  h.type = ICMP_ECHO;
  if (sendto(fd, &h, sizeof h, 0, (struct sockaddr*)&a, sizeof a) < 0) {
    close(fd);
    return blocked(host);
  }
  close(fd);
  return allowed(host);
}

/* "\r" and "\n" in an argument become CR and LF (argv cannot carry a
 * trailing newline through a shell's command substitution). */
static size_t unescape(const char* in, char* out, size_t cap) {
  size_t n = 0;
  for (; *in && n + 1 < cap; ++in) {
    if (in[0] == '\\' && (in[1] == 'r' || in[1] == 'n')) {
      out[n++] = in[1] == 'r' ? '\r' : '\n';
      ++in;
    } else {
      out[n++] = *in;
    }
  }
  out[n] = '\0';
  return n;
}

/* Reads what arrives within timeout_ms (until the peer closes or the
 * buffer is full); returns the byte count. */
static size_t read_for(int fd, char* buf, size_t cap, int timeout_ms) {
  size_t n = 0;
  struct pollfd p = {fd, POLLIN, 0};
  while (n + 1 < cap && poll(&p, 1, timeout_ms) == 1) {
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r <= 0) break;
    n += (size_t)r;
    if (memmem(buf, n, "\r\n\r\n", 4) != NULL && timeout_ms > 200) timeout_ms = 200;
  }
  buf[n] = '\0';
  return n;
}

/* An HTTP proxy client: CONNECT target through 127.0.0.1:port; with a
 * payload, sends it through the tunnel and waits for an answer. ALLOWED
 * means the proxy answered 200 and (with a payload) the far end replied. */
static int do_proxy_connect(const char* port, const char* target, const char* payload) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr*)&a, sizeof a) != 0) return blocked("proxy");
  char req[1024];
  int len = snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
  if (write(fd, req, (size_t)len) != len) return blocked("write");
  char buf[4096];
  read_for(fd, buf, sizeof buf, 5000);
  int status = 0;
  sscanf(buf, "HTTP/1.%*d %d", &status);
  printf("STATUS %d\n", status);
  if (status != 200) {
    close(fd);
    errno = EACCES;
    return blocked(target);
  }
  if (payload != NULL) {
    char bytes[1024];
    size_t n = unescape(payload, bytes, sizeof bytes);
    if (write(fd, bytes, n) != (ssize_t)n || read_for(fd, buf, sizeof buf, 3000) == 0) {
      close(fd);
      errno = ECONNRESET;
      return blocked(target);
    }
    printf("PEER %.60s\n", buf);
  }
  close(fd);
  return allowed(target);
}

/* Terminal injection: pushes text into the input queue of the terminal on
 * stdin, as if typed (TIOCSTI). Works only on the caller's controlling
 * terminal; the test checks where the bytes went. */
static int do_inject(const char* text) {
  char bytes[1024];
  size_t n = unescape(text, bytes, sizeof bytes);
  for (size_t i = 0; i < n; ++i) {
    if (ioctl(STDIN_FILENO, TIOCSTI, &bytes[i]) != 0) return blocked("TIOCSTI");
  }
  return allowed("TIOCSTI");
}

/* Whether any process whose command line contains marker is visible. */
static int do_find_process(const char* marker) {
  DIR* d = opendir("/proc");
  if (d == NULL) return blocked("/proc");
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[300], buf[4096];
    snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\0') buf[i] = ' ';
    }
    buf[n] = '\0';
    if (strstr(buf, marker) != NULL && (pid_t)atoi(e->d_name) != getpid()) {
      printf("PID %s\n", e->d_name); /* before closedir: e points into d */
      closedir(d);
      return allowed(marker);
    }
  }
  closedir(d);
  errno = ESRCH;
  return blocked(marker);
}

/* The session keyring para was started with: read every key's payload. */
static int do_keyring_read(void) {
  int32_t ids[64];
  long n = syscall(__NR_keyctl, KEYCTL_READ, KEY_SPEC_SESSION_KEYRING, ids, sizeof ids);
  if (n < 0) return blocked("keyctl(KEYCTL_READ, session keyring)");
  for (long i = 0; i < n / 4 && i < 64; i++) {
    char payload[256];
    long got = syscall(__NR_keyctl, KEYCTL_READ, ids[i], payload, sizeof payload - 1);
    if (got > 0) {
      printf("ALLOWED key %d: %.*s\n", ids[i], (int)got, payload);
      return 0;
    }
  }
  errno = ENOKEY;
  return blocked("no readable key in the session keyring");
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) return 2;
  const char* cmd = argv[1];
  const char* a = argc > 2 ? argv[2] : NULL;
  const char* b = argc > 3 ? argv[3] : NULL;
  if (strcmp(cmd, "write") == 0 && a) return do_write(a);
  if (strcmp(cmd, "append") == 0 && a) return do_append(a);
  if (strcmp(cmd, "read") == 0 && a) return do_read(a);
  if (strcmp(cmd, "list") == 0 && a) return do_list(a);
  if (strcmp(cmd, "mkdir") == 0 && a) return mkdir(a, 0755) == 0 ? allowed(a) : blocked(a);
  if (strcmp(cmd, "unlink") == 0 && a) return unlink(a) == 0 ? allowed(a) : blocked(a);
  if (strcmp(cmd, "rmdir") == 0 && a) return rmdir(a) == 0 ? allowed(a) : blocked(a);
  if (strcmp(cmd, "rename") == 0 && a && b) return rename(a, b) == 0 ? allowed(a) : blocked(a);
  if (strcmp(cmd, "link") == 0 && a && b) return link(a, b) == 0 ? allowed(b) : blocked(b);
  if (strcmp(cmd, "symlink") == 0 && a && b) return symlink(a, b) == 0 ? allowed(b) : blocked(b);
  if (strcmp(cmd, "chmod") == 0 && a) return chmod(a, 0777) == 0 ? allowed(a) : blocked(a);
  if (strcmp(cmd, "connect-unix") == 0 && a) return connect_unix(a, 0);
  if (strcmp(cmd, "connect-abstract") == 0 && a) return connect_unix(a, 1);
  if (strcmp(cmd, "socket-unix") == 0) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    return fd >= 0 ? allowed("socket(AF_UNIX)") : blocked("socket(AF_UNIX)");
  }
  if (strcmp(cmd, "socketpair") == 0) {
    int sv[2];
    return socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 ? allowed("socketpair")
                                                        : blocked("socketpair");
  }
  if (strcmp(cmd, "keyring-read") == 0) return do_keyring_read();
  if (strcmp(cmd, "keyring-add") == 0) {
    long id = syscall(__NR_add_key, "user", "para-probe", "planted", 7, KEY_SPEC_SESSION_KEYRING);
    return id >= 0 ? allowed("add_key") : blocked("add_key");
  }
  if (strcmp(cmd, "io-uring") == 0) {
    char params[120] = {0}; /* struct io_uring_params */
    long fd = syscall(__NR_io_uring_setup, 1, params);
    return fd >= 0 ? allowed("io_uring_setup") : blocked("io_uring_setup");
  }
  if (strcmp(cmd, "userns") == 0) {
    return unshare(CLONE_NEWUSER) == 0 ? allowed("unshare(CLONE_NEWUSER)")
                                       : blocked("unshare(CLONE_NEWUSER)");
  }
  if (strcmp(cmd, "mountns") == 0) {
    return unshare(CLONE_NEWNS) == 0 ? allowed("unshare(CLONE_NEWNS)")
                                     : blocked("unshare(CLONE_NEWNS)");
  }
  if (strcmp(cmd, "mount") == 0 && a) {
    return mount("none", a, "tmpfs", 0, NULL) == 0 ? allowed(a) : blocked(a);
  }
  if (strcmp(cmd, "umount") == 0 && a) return umount2(a, MNT_DETACH) == 0 ? allowed(a) : blocked(a);
  if (strcmp(cmd, "remount-rw") == 0 && a) {
    return mount(NULL, a, NULL, MS_REMOUNT | MS_BIND, NULL) == 0 ? allowed(a) : blocked(a);
  }
  if (strcmp(cmd, "ptrace") == 0 && a) {
    pid_t pid = (pid_t)atoi(a);
    if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) == 0) return allowed(a);
    return blocked(a);
  }
  if (strcmp(cmd, "kill0") == 0 && a) return kill((pid_t)atoi(a), 0) == 0 ? allowed(a) : blocked(a);
  if (strcmp(cmd, "find-process") == 0 && a) return do_find_process(a);
  if (strcmp(cmd, "tcp") == 0 && a && b) return do_tcp(a, atoi(b));
  if (strcmp(cmd, "udp") == 0 && a && b) return do_udp(a, atoi(b), 0);
  if (strcmp(cmd, "dns") == 0 && a && b) return do_udp(a, atoi(b), 1);
  if (strcmp(cmd, "icmp") == 0 && a) return do_icmp(a);
  if (strcmp(cmd, "proxy-connect") == 0 && a && b) {
    return do_proxy_connect(a, b, argc > 4 ? argv[4] : NULL);
  }
  if (strcmp(cmd, "inject") == 0 && a) return do_inject(a);
  if (strcmp(cmd, "tiocsti") == 0) {
    /* Terminal injection: push a character into the controlling terminal. */
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return blocked("/dev/tty");
    close(fd);
    return allowed("/dev/tty");
  }
  if (strcmp(cmd, "spawn-daemon") == 0 && a) {
    /* A detached grandchild that tries to outlive the sandbox. */
    pid_t pid = fork();
    if (pid < 0) return blocked("fork");
    if (pid == 0) {
      setsid();
      if (fork() == 0) {
        execlp("sleep", "sleep", a, (char*)NULL);
        _exit(127);
      }
      _exit(0);
    }
    waitpid(pid, NULL, 0);
    return allowed("daemon");
  }
  fprintf(stderr, "probe: unknown or incomplete subcommand %s\n", cmd);
  return 2;
}
