#include "common/net/address_parse.h"

#include <algorithm>
#include <charconv>

namespace tcpr::net {
namespace {

std::optional<uint32_t> parse_uint(const std::string& text, uint32_t max) {
    if (text.empty() || text.size() > 10) {
        return std::nullopt;
    }
    uint32_t v = 0;
    const char* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc() || p != end || v > max) {
        return std::nullopt;
    }
    return v;
}

bool is_v4_mapped(const IpAddress& a) {
    if (a.version != 6) {
        return false;
    }
    for (int i = 0; i < 10; ++i) {
        if (a.bytes[i] != 0) {
            return false;
        }
    }
    return a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}

}  // namespace

IpAddress unmap_v4(const IpAddress& a) {
    if (!is_v4_mapped(a)) {
        return a;
    }
    return IpAddress::v4_bytes(a.bytes.data() + 12);
}

std::optional<Endpoint> parse_endpoint(const std::string& text) {
    std::string host, port;
    if (!text.empty() && text.front() == '[') {
        const size_t close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const size_t colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon) {
            return std::nullopt;  // no port, or an IPv6 address without brackets
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    const auto addr = IpAddress::parse(host);
    const auto p = parse_uint(port, 65535);
    if (!addr || !p) {
        return std::nullopt;
    }
    if (text.front() == '[' && addr->version != 6) {
        return std::nullopt;
    }
    return Endpoint{*addr, static_cast<uint16_t>(*p)};
}

std::optional<Cidr> Cidr::parse(const std::string& text) {
    const size_t slash = text.find('/');
    const auto addr = IpAddress::parse(text.substr(0, slash));
    if (!addr) {
        return std::nullopt;
    }
    const uint32_t max = addr->version == 6 ? 128 : 32;
    uint32_t len = max;
    if (slash != std::string::npos) {
        const auto p = parse_uint(text.substr(slash + 1), max);
        if (!p) {
            return std::nullopt;
        }
        len = *p;
    }
    Cidr c;
    c.network = *addr;
    c.prefix_len = static_cast<uint8_t>(len);
    for (uint32_t bit = len; bit < max; ++bit) {
        c.network.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    }
    return c;
}

bool Cidr::contains(const IpAddress& addr) const {
    const IpAddress a = network.version == 4 ? unmap_v4(addr) : addr;
    if (a.version != network.version) {
        return false;
    }
    const uint32_t full = prefix_len / 8;
    for (uint32_t i = 0; i < full; ++i) {
        if (a.bytes[i] != network.bytes[i]) {
            return false;
        }
    }
    const uint32_t rest = prefix_len % 8;
    if (rest == 0) {
        return true;
    }
    const auto mask = static_cast<uint8_t>(0xffu << (8 - rest));
    return (a.bytes[full] & mask) == network.bytes[full];
}

std::optional<Cidr> Cidr::of_netmask(const IpAddress& address, const IpAddress& netmask) {
    if (address.version != netmask.version) {
        return std::nullopt;
    }
    const uint32_t max = address.version == 6 ? 128 : 32;
    uint32_t len = 0;
    while (len < max && (netmask.bytes[len / 8] & (0x80u >> (len % 8))) != 0) {
        ++len;
    }
    Cidr c;
    c.network = address;
    c.prefix_len = static_cast<uint8_t>(len);
    for (uint32_t bit = len; bit < max; ++bit) {
        c.network.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    }
    return c;
}

std::string Cidr::to_string() const {
    return network.to_string() + "/" + std::to_string(prefix_len);
}

std::optional<AllowList> AllowList::parse(const std::vector<std::string>& texts, std::string* bad) {
    std::vector<Cidr> ranges;
    bool any = false;
    for (const std::string& t : texts) {
        if (t == "any") {
            any = true;
            continue;
        }
        const auto c = Cidr::parse(t);
        if (!c) {
            if (bad != nullptr) {
                *bad = t;
            }
            return std::nullopt;
        }
        ranges.push_back(*c);
    }
    return any ? AllowList() : AllowList(std::move(ranges));
}

std::vector<Cidr> loopback_ranges() {
    return {*Cidr::parse("127.0.0.0/8"), *Cidr::parse("::1/128")};
}

AllowList intercept_allow_list(const AllowList& given, bool given_any,
                               const std::vector<Cidr>& interface_networks) {
    std::vector<Cidr> ranges;
    bool all_v4 = false, all_v6 = false;
    for (const Cidr& c : given.ranges()) {
        all_v4 = all_v4 || (c.network.version == 4 && c.prefix_len == 0);
        all_v6 = all_v6 || (c.network.version == 6 && c.prefix_len == 0);
    }
    if (given_any || (all_v4 && all_v6)) {
        return AllowList();
    }
    const auto add = [&](const Cidr& c) {
        if (std::find(ranges.begin(), ranges.end(), c) == ranges.end()) {
            ranges.push_back(c);
        }
    };
    for (const Cidr& c : given.ranges().empty() ? interface_networks : given.ranges()) {
        add(c);
    }
    for (const Cidr& c : loopback_ranges()) {
        add(c);
    }
    return AllowList(std::move(ranges));
}

bool AllowList::allows(const IpAddress& a) const {
    if (ranges_.empty()) {
        return true;
    }
    for (const Cidr& c : ranges_) {
        if (c.contains(a)) {
            return true;
        }
    }
    return false;
}

std::string AllowList::to_string() const {
    if (ranges_.empty()) {
        return "any";
    }
    std::string s;
    for (const Cidr& c : ranges_) {
        if (!s.empty()) {
            s += ", ";
        }
        s += c.to_string();
    }
    return s;
}

}  // namespace tcpr::net
