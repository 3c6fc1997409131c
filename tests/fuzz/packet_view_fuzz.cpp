// libFuzzer target: net::decode on every link type, and SessionTracker::observe on what decodes.
// Input: either a classic pcap file (its records are decoded with its link type, in order, so
// the tracker sees whole conversations; tests/data seeds this form), or one frame whose first
// byte picks the link type. Checks the PacketView invariants the rest of the code relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <span>
#include <vector>

#include "common/net/link_type.h"
#include "common/net/packet_view.h"
#include "common/session/session_tracker.h"

namespace {

using tcpr::net::LinkType;

constexpr LinkType kLinks[] = {LinkType::Null, LinkType::Ethernet, LinkType::Raw,
                               LinkType::Loop, LinkType::LinuxSll, LinkType::Ipv4,
                               LinkType::Ipv6, LinkType::LinuxSll2};
constexpr size_t kMaxRecords = 4096;

void check(bool ok) {
    if (!ok) {
        std::abort();  // an invariant broke: libFuzzer reports the input as a crash
    }
}

void check_view(const tcpr::net::PacketView& v, size_t size) {
    check(v.l3_offset <= v.l4_offset);
    check(v.l4_offset + 20 <= v.payload_offset);
    check(v.payload_offset == v.l4_offset + v.tcp_header_len);
    check(v.payload_offset <= size);
    check(v.captured_payload <= v.payload_len);
    check(v.payload_offset + v.captured_payload <= size);
    check(v.tcp_header_len >= 20 && v.tcp_header_len <= 60 && v.tcp_header_len % 4 == 0);
    check(v.src.version == v.dst.version);
    check(v.src.version == 4 || v.src.version == 6);
    check(v.vlan_depth <= 4);
}

void one(uint32_t link, std::span<const uint8_t> frame, tcpr::session::SessionTracker& tracker,
         uint64_t ts, uint32_t frame_no) {
    const tcpr::net::DecodeResult r = tcpr::net::decode(link, frame);
    const auto known = tcpr::net::link_type_from_value(link);
    if (!known) {
        check(!r.ok() && r.reason() == tcpr::net::SkipReason::UnsupportedLink);
        return;
    }
    // Both overloads agree.
    const tcpr::net::DecodeResult again = tcpr::net::decode(*known, frame);
    check(r.ok() == again.ok());
    if (!r.ok()) {
        check(r.reason() == again.reason());
        check(r.reason() != tcpr::net::SkipReason::UnsupportedLink);
        return;
    }
    check_view(r.packet(), frame.size());
    const size_t idx = tracker.observe(r.packet(), ts, frame_no);
    check(idx < tracker.size());
    const auto& s = tracker.sessions()[idx];
    check(s.packets_c2s + s.packets_s2c >= 1);
    check(s.first_ns <= s.last_ns);
}

uint32_t rd32(const uint8_t* p, bool big) {
    return big ? (uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3])
               : (uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0]);
}

// Returns false if `data` is not a pcap file.
bool run_pcap(const uint8_t* data, size_t size) {
    if (size < 24) {
        return false;
    }
    const uint32_t le = rd32(data, false);
    bool big;
    if (le == 0xa1b2c3d4 || le == 0xa1b23c4d) {
        big = false;
    } else if (le == 0xd4c3b2a1 || le == 0x4d3cb2a1) {
        big = true;
    } else {
        return false;
    }
    const uint32_t link = rd32(data + 20, big);
    const std::optional<uint16_t> port =
        (link & 1) != 0 ? std::optional<uint16_t>(80) : std::nullopt;
    tcpr::session::SessionTracker tracker(port);
    size_t pos = 24;
    for (size_t n = 0; n < kMaxRecords && size - pos >= 16; ++n) {
        const uint64_t sec = rd32(data + pos, big);
        const uint64_t frac = rd32(data + pos + 4, big);
        const uint32_t incl = rd32(data + pos + 8, big);
        pos += 16;
        if (incl > size - pos) {
            break;  // truncated record: a reader stops here
        }
        // Exactly sized copy: an over-read past the record is a heap overflow for ASan.
        const std::vector<uint8_t> frame(data + pos, data + pos + incl);
        one(link, frame, tracker, sec * 1'000'000'000ull + frac, static_cast<uint32_t>(n / 8));
        pos += incl;
    }
    // active() must not trip over any timestamp order.
    (void)tracker.active(0, 1'000'000'000);
    (void)tracker.active(~uint64_t{0}, 1);
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (run_pcap(data, size)) {
        return 0;
    }
    if (size < 1) {
        return 0;
    }
    // One frame: the first byte picks a link type (the last choice is an unsupported value).
    const size_t choice = data[0] % (std::size(kLinks) + 1);
    const uint32_t link = choice < std::size(kLinks) ? static_cast<uint32_t>(kLinks[choice]) : 105u;
    // Copy into an exactly sized buffer, so any over-read is a heap overflow for ASan.
    const std::vector<uint8_t> frame(data + 1, data + size);
    tcpr::session::SessionTracker tracker;
    one(link, frame, tracker, 1, 0);
    return 0;
}
