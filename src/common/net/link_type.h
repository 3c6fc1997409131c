// Link-layer header types we decode, by their LINKTYPE_* values (the pcap file values,
// https://www.tcpdump.org/linktypes.html). Live DLT_* values are mapped in os/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tcpr::net {

enum class LinkType : uint32_t {
    Null = 0,         // BSD loopback, 4-byte host-order AF_ header
    Ethernet = 1,     // Ethernet II, with 802.1Q / 802.1ad tags
    Raw = 101,        // raw IPv4 or IPv6
    Loop = 108,       // OpenBSD loopback, 4-byte network-order AF_ header
    LinuxSll = 113,   // Linux cooked capture v1 ("-i any")
    Ipv4 = 228,       // raw IPv4
    Ipv6 = 229,       // raw IPv6
    LinuxSll2 = 276,  // Linux cooked capture v2
};

// The link type if `value` is one we decode, else nullopt.
std::optional<LinkType> link_type_from_value(uint32_t value);
// "EN10MB", "LINUX_SLL", ... (libpcap names); "LINKTYPE_<n>" for unknown values.
std::string link_type_name(uint32_t value);

}  // namespace tcpr::net
