#include "proxy/tls_hello.h"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

using namespace para::proxy;
using Status = ClientHello::Status;

namespace {

std::string u16(size_t v) {
  return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}
std::string u24(size_t v) {
  return std::string(1, static_cast<char>(v >> 16)) + u16(v & 0xffff);
}

std::string extension(uint16_t type, const std::string& data) {
  return u16(type) + u16(data.size()) + data;
}

std::string sni_extension(const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& n : names) list += std::string(1, '\0') + u16(n.size()) + n;
  return extension(0, u16(list.size()) + list);
}

// A minimal ClientHello handshake message carrying the given extensions.
std::string hello_message(const std::string& extensions, bool with_extensions = true) {
  std::string body = u16(0x0303) + std::string(32, 'r') + std::string(1, '\0') + u16(2) +
                     u16(0x1301) + std::string(1, '\1') + std::string(1, '\0');
  if (with_extensions) body += u16(extensions.size()) + extensions;
  return std::string(1, '\1') + u24(body.size()) + body;
}

// Wraps a handshake message in TLS records of at most `chunk` bytes each.
std::string records(const std::string& message, size_t chunk = 16384) {
  std::string out;
  for (size_t i = 0; i < message.size(); i += chunk) {
    const std::string part = message.substr(i, chunk);
    out += std::string("\x16\x03\x01", 3) + u16(part.size()) + part;
  }
  return out;
}

// The ClientHello that OpenSSL itself sends for a server name.
std::string openssl_client_hello(const char* server_name) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  if (server_name != nullptr) SSL_set_tlsext_host_name(ssl, server_name);
  SSL_connect(ssl);  // wants to read the ServerHello; the ClientHello is in `out`
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<size_t>(n));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

}  // namespace

TEST_SUITE("proxy/tls_hello") {
  TEST_CASE("the server name of a real OpenSSL ClientHello is read") {
    const std::string hello = openssl_client_hello("allowed.test");
    const ClientHello h = parse_client_hello(hello);
    REQUIRE(h.status == Status::complete);
    CHECK(h.server_name == "allowed.test");
    const ClientHello none = parse_client_hello(openssl_client_hello(nullptr));
    REQUIRE(none.status == Status::complete);
    CHECK_FALSE(none.server_name.has_value());
  }

  TEST_CASE("a ClientHello arriving one byte at a time is incomplete until its last byte") {
    const std::string hello = openssl_client_hello("allowed.test");
    for (size_t n = 0; n < hello.size(); ++n) {
      const ClientHello h = parse_client_hello(std::string_view(hello).substr(0, n));
      CAPTURE(n);
      REQUIRE(h.status == Status::incomplete);
    }
    CHECK(parse_client_hello(hello).status == Status::complete);
  }

  TEST_CASE("a ClientHello split across many TLS records is reassembled") {
    const std::string message =
        hello_message(extension(0x0a0a, "") + sni_extension({"split.test"}));
    for (size_t chunk : {1, 2, 3, 7, 50}) {
      CAPTURE(chunk);
      const ClientHello h = parse_client_hello(records(message, chunk));
      REQUIRE(h.status == Status::complete);
      CHECK(h.server_name == "split.test");
    }
  }

  TEST_CASE("GREASE extensions are skipped; absent SNI is reported as absent") {
    const ClientHello h =
        parse_client_hello(records(hello_message(extension(0x1a1a, "x") + extension(0xfafa, ""))));
    REQUIRE(h.status == Status::complete);
    CHECK_FALSE(h.server_name.has_value());
    const ClientHello bare = parse_client_hello(records(hello_message("", false)));
    REQUIRE(bare.status == Status::complete);
    CHECK_FALSE(bare.server_name.has_value());
  }

  TEST_CASE("more than one host name, duplicates and malformed lengths are invalid") {
    CHECK(parse_client_hello(records(hello_message(sni_extension({"a.test", "b.test"})))).status ==
          Status::invalid);
    CHECK(parse_client_hello(
              records(hello_message(sni_extension({"a.test"}) + sni_extension({"a.test"}))))
              .status == Status::invalid);
    CHECK(parse_client_hello(records(hello_message(sni_extension({""})))).status ==
          Status::invalid);
    std::string bad = hello_message(sni_extension({"a.test"}));
    bad[bad.size() - 8] = '\x7f';  // the name length now points past the end
    CHECK(parse_client_hello(records(bad)).status == Status::invalid);
  }

  TEST_CASE("bytes that are not a TLS handshake are reported as not TLS") {
    CHECK(parse_client_hello("CONNECT evil.test:443 HTTP/1.1\r\n\r\n").status == Status::not_tls);
    CHECK(parse_client_hello("G").status == Status::not_tls);
    CHECK(parse_client_hello(std::string("\x15\x03\x01\x00\x02\x02\x28", 7)).status ==
          Status::not_tls);
    CHECK(parse_client_hello(std::string("\x16\x03\x01\x00\x04\x02\x00\x00\x00", 9)).status ==
          Status::invalid);  // a handshake, but not a ClientHello
  }

  TEST_CASE("a ClientHello larger than the limit is invalid before it is all read") {
    const std::string message = hello_message(extension(0x1234, std::string(40000, 'p')));
    CHECK(parse_client_hello(records(message).substr(0, 100), 1024).status == Status::invalid);
    CHECK(parse_client_hello(records(message)).status == Status::complete);
  }
}
