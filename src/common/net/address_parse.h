// Text forms of endpoints and address ranges: "10.0.0.1:80", "[fd00::1]:80", "10.0.0.0/8".
// Pure value parsing (no sockets); used for --allow lists and "host:port" options.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/net/flow_key.h"
#include "common/net/ip_address.h"

namespace tcpr::net {

// "1.2.3.4:80" or "[::1]:80" (the brackets are required for IPv6). Port 0 is accepted (bind to
// any port). nullopt on bad text.
std::optional<Endpoint> parse_endpoint(const std::string& text);

// An IPv4 or IPv6 prefix. Host bits below the prefix are cleared ("10.1.2.3/8" = 10.0.0.0/8).
struct Cidr {
    IpAddress network;
    uint8_t prefix_len = 0;  // 0..32 for IPv4, 0..128 for IPv6

    // "10.0.0.0/8", "192.168.1.7" (= /32), "fd00::/8", "::1" (= /128). nullopt on bad text or
    // a prefix length out of range.
    static std::optional<Cidr> parse(const std::string& text);
    // Same family and the first prefix_len bits equal. IPv4-mapped IPv6 addresses
    // (::ffff:a.b.c.d) match IPv4 prefixes.
    bool contains(const IpAddress& a) const;
    // The network of an interface address and its netmask (prefix length = the mask's leading
    // one bits; host bits cleared). nullopt when the families differ.
    static std::optional<Cidr> of_netmask(const IpAddress& address, const IpAddress& netmask);
    std::string to_string() const;  // "10.0.0.0/8"
    bool operator==(const Cidr&) const = default;
};

// The replayer addresses an intercept accepts. Empty = every address.
class AllowList {
  public:
    AllowList() = default;
    explicit AllowList(std::vector<Cidr> ranges) : ranges_(std::move(ranges)) {}
    // Parses each text with Cidr::parse ("any" = every address: the result is empty); nullopt
    // (and `bad` set to the text) on the first bad one.
    static std::optional<AllowList> parse(const std::vector<std::string>& texts,
                                          std::string* bad = nullptr);

    bool allows(const IpAddress& a) const;
    bool allows_all() const { return ranges_.empty(); }
    const std::vector<Cidr>& ranges() const { return ranges_; }
    std::string to_string() const;  // "10.0.0.0/8, 127.0.0.1/32" or "any"

  private:
    std::vector<Cidr> ranges_;
};

// Loopback: 127.0.0.0/8 and ::1/128.
std::vector<Cidr> loopback_ranges();

// intercept's allow-list (docs/intercept.md, "Who may connect"):
// - no --allow (`given` empty): the networks the host is attached to (`interface_networks`,
//   from its interfaces' addresses and netmasks) and loopback;
// - --allow any (or 0.0.0.0/0 with ::/0): every address (an empty list);
// - otherwise exactly the ranges given, plus loopback.
// Duplicates are listed once.
AllowList intercept_allow_list(const AllowList& given, bool given_any,
                               const std::vector<Cidr>& interface_networks);

// ::ffff:a.b.c.d -> a.b.c.d; any other address unchanged.
IpAddress unmap_v4(const IpAddress& a);

}  // namespace tcpr::net
