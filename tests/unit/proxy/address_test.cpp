#include "proxy/address.h"

#include <doctest/doctest.h>

#include <vector>

using namespace para::proxy;

namespace {
AddressClass class_of(const char* text, std::vector<IpAddress> own = {}) {
  const auto ip = parse_ip(text);
  REQUIRE(ip);
  return classify(*ip, own);
}
}  // namespace

TEST_SUITE("proxy/address") {
  TEST_CASE("IPv4 ranges are classified") {
    struct Row {
      const char* ip;
      AddressClass c;
    };
    for (const Row& r : {Row{"8.8.8.8", AddressClass::public_address},
                         Row{"127.0.0.1", AddressClass::loopback},
                         Row{"127.255.0.9", AddressClass::loopback},
                         Row{"0.0.0.0", AddressClass::unspecified},
                         Row{"0.1.2.3", AddressClass::unspecified},
                         Row{"169.254.1.1", AddressClass::link_local},
                         Row{"10.0.0.1", AddressClass::private_use},
                         Row{"172.16.0.1", AddressClass::private_use},
                         Row{"172.31.255.255", AddressClass::private_use},
                         Row{"172.32.0.1", AddressClass::public_address},
                         Row{"192.168.1.1", AddressClass::private_use},
                         Row{"100.64.0.1", AddressClass::shared},
                         Row{"100.127.255.255", AddressClass::shared},
                         Row{"224.0.0.1", AddressClass::multicast},
                         Row{"255.255.255.255", AddressClass::broadcast},
                         Row{"240.0.0.1", AddressClass::reserved},
                         Row{"192.0.2.1", AddressClass::reserved},
                         Row{"198.18.0.1", AddressClass::reserved},
                         Row{"169.254.169.254", AddressClass::metadata},
                         Row{"169.254.170.2", AddressClass::metadata},
                         Row{"100.100.100.200", AddressClass::metadata},
                         Row{"168.63.129.16", AddressClass::metadata},
                         Row{"192.0.0.192", AddressClass::metadata}}) {
      CAPTURE(r.ip);
      CHECK(class_of(r.ip) == r.c);
    }
  }

  TEST_CASE("IPv6 ranges and IPv4-embedding forms are classified") {
    struct Row {
      const char* ip;
      AddressClass c;
    };
    for (const Row& r :
         {Row{"2606:4700::1111", AddressClass::public_address}, Row{"::1", AddressClass::loopback},
          Row{"::", AddressClass::unspecified}, Row{"fe80::1", AddressClass::link_local},
          Row{"fc00::1", AddressClass::unique_local},
          Row{"fd12:3456::1", AddressClass::unique_local}, Row{"ff02::1", AddressClass::multicast},
          Row{"fd00:ec2::254", AddressClass::metadata}, Row{"2001:db8::1", AddressClass::reserved},
          Row{"4000::1", AddressClass::reserved}, Row{"::ffff:127.0.0.1", AddressClass::loopback},
          Row{"::ffff:169.254.169.254", AddressClass::metadata},
          Row{"::10.0.0.1", AddressClass::private_use},
          Row{"64:ff9b::10.1.2.3", AddressClass::private_use},
          Row{"64:ff9b::8.8.8.8", AddressClass::public_address},
          Row{"64:ff9b:1::7f00:1", AddressClass::loopback},
          Row{"2002:7f00:1::", AddressClass::loopback},
          Row{"2002:a9fe:a9fe::1", AddressClass::metadata},
          Row{"2002:808:808::1", AddressClass::public_address},
          // Teredo: client 10.0.0.1 stored inverted as f5ff:fffe.
          Row{"2001:0:4136:e378:8000:63bf:f5ff:fffe", AddressClass::private_use}}) {
      CAPTURE(r.ip);
      CHECK(class_of(r.ip) == r.c);
    }
  }

  TEST_CASE("this machine's own public addresses are recognised, also when embedded") {
    const std::vector<IpAddress> own = {*parse_ip("203.0.114.7"), *parse_ip("2a01:4f8::7")};
    CHECK(class_of("203.0.114.7", own) == AddressClass::own_interface);
    CHECK(class_of("::ffff:203.0.114.7", own) == AddressClass::own_interface);
    CHECK(class_of("2a01:4f8::7", own) == AddressClass::own_interface);
    CHECK(class_of("203.0.114.8", own) == AddressClass::public_address);
  }

  TEST_CASE("local destinations are refused unless allowed; metadata always") {
    const auto lo = *parse_ip("127.0.0.1");
    const auto md = *parse_ip("169.254.169.254");
    const auto pub = *parse_ip("1.1.1.1");
    CHECK_FALSE(destination_refusal(pub, false, {}));
    const auto why = destination_refusal(lo, false, {});
    REQUIRE(why);
    CHECK(*why == "127.0.0.1 is a loopback address and local destinations are not allowed");
    CHECK_FALSE(destination_refusal(lo, true, {}));
    CHECK(destination_refusal(md, true, {}));
    CHECK(destination_refusal(md, false, {})->find("metadata") != std::string::npos);
  }

  TEST_CASE("parse, print and sockaddr conversions agree") {
    CHECK(to_string(*parse_ip("[::ffff:1.2.3.4]")) == "::ffff:1.2.3.4");
    CHECK(to_string(*parse_ip("10.0.0.1")) == "10.0.0.1");
    CHECK_FALSE(parse_ip("example.com"));
    CHECK_FALSE(parse_ip("127.1"));  // canonical text only; canonical_host handles spellings
    CHECK_FALSE(own_interface_addresses().empty());  // at least loopback
  }
}
