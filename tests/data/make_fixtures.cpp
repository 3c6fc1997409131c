// Generates the capture fixtures under tests/data/{good,bad}/ (see tests/data/README.md).
// Deterministic: the same source gives the same bytes.
//   make_fixtures <tests/data>          write the files
//   make_fixtures --check <tests/data>  exit 1 if a checked-in file differs from what we make
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "support/conversation.h"
#include "support/packet_factory.h"
#include "support/pcap_file.h"
#include "support/temp_dir.h"

namespace {

using namespace tcpr::test;
using tcpr::net::LinkType;

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ULL;  // 2023-11-14T22:13:20Z
constexpr uint64_t kMs = 1'000'000;

struct Fixture {
    std::string path;  // relative to tests/data
    Bytes bytes;
};

ConversationSpec http(uint16_t client_port, uint64_t start_ns) {
    ConversationSpec c;
    c.client = "10.0.0.1";
    c.server = "10.0.0.2";
    c.client_port = client_port;
    c.server_port = 80;
    c.start_ns = start_ns;
    c.client_isn = 1000u * client_port;
    c.server_isn = 7000u * client_port;
    c.exchanges = {{http_request("/index.html"), http_response(600, 1), 0}};
    return c;
}

Fixture http_sessions() {
    ConversationSpec one = http(40001, kT0);
    ConversationSpec keep = http(40002, kT0 + 2 * kMs);
    keep.client_isn = 0xffffff80u;  // both sequence spaces wrap inside this session
    keep.server_isn = 0xfffff000u;
    keep.exchanges = {{http_request("/a"), http_response(5000, 2), 0},
                      {http_request("/b"), http_response(300, 3), 20 * kMs}};
    ConversationSpec other = http(40003, kT0 + 3 * kMs);
    other.client = "10.0.0.3";
    other.exchanges = {{http_request("/other"), http_response(1200, 4), 0}};
    const auto records =
        merge_by_time({make_conversation(one), make_conversation(keep), make_conversation(other)});
    return {"good/http_sessions.pcap", pcap_bytes(PcapOptions{}, records)};
}

Fixture single_link(const std::string& path, LinkType link, const std::string& client,
                    const std::string& server, std::vector<uint16_t> vlans = {}) {
    ConversationSpec c = http(41000, kT0);
    c.client = client;
    c.server = server;
    c.link = LinkSpec(link, std::move(vlans));
    PcapOptions o;
    o.link_type = static_cast<uint32_t>(link);
    return {path, pcap_bytes(o, make_conversation(c))};
}

Fixture sll2() {
    ConversationSpec v4 = http(42000, kT0);
    v4.link = LinkSpec(LinkType::LinuxSll2);
    ConversationSpec v6 = http(42001, kT0 + kMs);
    v6.client = "fd00::1";
    v6.server = "fd00::2";
    v6.link = LinkSpec(LinkType::LinuxSll2);
    PcapOptions o;
    o.link_type = static_cast<uint32_t>(LinkType::LinuxSll2);
    o.resolution = TsResolution::Nano;
    return {"good/sll2.pcap",
            pcap_bytes(o, merge_by_time({make_conversation(v4), make_conversation(v6)}))};
}

Fixture vlan() {
    ConversationSpec tagged = http(43000, kT0);
    tagged.link = LinkSpec(LinkType::Ethernet, {100});
    ConversationSpec qinq = http(43001, kT0 + kMs);
    qinq.link = LinkSpec(LinkType::Ethernet, {10, 20});
    return {"good/vlan.pcap", pcap_bytes(PcapOptions{}, merge_by_time({make_conversation(tagged),
                                                                       make_conversation(qinq)}))};
}

Fixture ipv6() {
    ConversationSpec a = http(44000, kT0);
    a.client = "2001:db8::10";
    a.server = "2001:db8::80";
    ConversationSpec b = http(44001, kT0 + kMs);
    b.client = "2001:db8::11";
    b.server = "2001:db8::80";
    b.exchanges.push_back({http_request("/second"), http_response(2000, 5), 5 * kMs});
    return {"good/ipv6.pcap",
            pcap_bytes(PcapOptions{}, merge_by_time({make_conversation(a), make_conversation(b)}))};
}

Fixture pcapng_single() {
    const ConversationSpec c = http(45000, kT0 + 123);  // sub-microsecond part kept in ns
    return {"good/pcapng_single.pcapng", pcapng_bytes({PcapngInterface{}}, make_conversation(c))};
}

Fixture tso_offload() {
    ConversationSpec c = http(46000, kT0);
    c.mss = 65000;  // TSO: the capture sees the unsegmented super-packets
    c.zero_checksums = true;
    c.exchanges = {{http_request("/20k"), pattern_bytes(20000, 6), 0},
                   {http_request("/40k"), pattern_bytes(40000, 7), 0},
                   {http_request("/60k"), pattern_bytes(60000, 8), 0}};
    auto records = make_conversation(c);
    // The 60 kB segment also has IPv4 total length 0, as GSO captures of big segments show.
    bool zeroed = false;
    for (PcapRecord& r : records) {
        if (r.bytes.size() > 60000) {
            r.bytes[14 + 2] = 0;
            r.bytes[14 + 3] = 0;
            zeroed = true;
        }
    }
    if (!zeroed) {
        throw std::logic_error("tso_offload: no 60 kB segment");
    }
    PcapOptions o;
    o.resolution = TsResolution::Nano;
    return {"good/tso_offload.pcap", pcap_bytes(o, records)};
}

Fixture midsession() {
    ConversationSpec c = http(47000, kT0);
    c.handshake = false;
    c.exchanges.push_back({http_request("/more"), http_response(900, 9), 10 * kMs});
    return {"good/midsession.pcap", pcap_bytes(PcapOptions{}, make_conversation(c))};
}

std::vector<PcapRecord> short_session() { return make_conversation(http(48000, kT0)); }

Fixture truncated_record() {
    const Bytes whole = pcap_bytes(PcapOptions{}, short_session());
    // 24-byte file header, then records of 16 + n bytes; cut the third record's data in half.
    const auto records = short_session();
    size_t at = 24 + 16 + records[0].bytes.size() + 16 + records[1].bytes.size() + 16 +
                records[2].bytes.size() / 2;
    return {"bad/truncated_record.pcap",
            Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(at))};
}

Fixture wrong_dlt() {
    PcapOptions o;
    o.link_type = 105;  // LINKTYPE_IEEE802_11: we do not decode Wi-Fi
    return {"bad/wrong_dlt.pcap", pcap_bytes(o, short_session())};
}

Fixture pcapng_multi_if() {
    ConversationSpec eth = http(49000, kT0);
    ConversationSpec sll = http(49001, kT0 + 500'000);
    sll.link = LinkSpec(LinkType::LinuxSll);
    auto a = make_conversation(eth);
    auto b = make_conversation(sll);
    for (PcapRecord& r : b) {
        r.interface_id = 1;
    }
    PcapngInterface if0;
    if0.name = "eth0";
    PcapngInterface if1;
    if1.name = "any";
    if1.link_type = static_cast<uint32_t>(LinkType::LinuxSll);
    if1.resolution = TsResolution::Micro;
    return {"bad/pcapng_multi_if.pcapng", pcapng_bytes({if0, if1}, merge_by_time({a, b}))};
}

Fixture fragments() {
    TcpSpec seg;
    seg.sport = 50000;
    seg.dport = 80;
    seg.seq = 123456;
    seg.ack = 654321;
    seg.flags = tcpr::net::tcp_flags::kAck | tcpr::net::tcp_flags::kPsh;
    seg.payload = http_response(2500, 10);
    seg.ip_id = 0x4242;
    std::vector<PcapRecord> records;
    uint64_t t = kT0;
    for (Bytes& f : make_ipv4_fragments(seg, 1000)) {
        records.push_back({t, std::move(f)});
        t += 10'000;
    }
    TcpSpec normal = seg;
    normal.payload.clear();
    normal.src = seg.dst;
    normal.dst = seg.src;
    normal.sport = seg.dport;
    normal.dport = seg.sport;
    normal.seq = seg.ack;
    normal.ack = seg.seq + static_cast<uint32_t>(seg.payload.size());
    normal.flags = tcpr::net::tcp_flags::kAck;
    records.push_back({t, make_tcp(normal)});
    return {"bad/fragments.pcap", pcap_bytes(PcapOptions{}, records)};
}

Bytes zstd_raw_frame(const std::string& text) {
    // RFC 8878: magic, frame header descriptor 0x20 (single segment, 1-byte content size,
    // no checksum), content size, one raw last block: header = 1 | raw(0) << 1 | size << 3.
    if (text.size() > 255) {
        throw std::logic_error("zstd_raw_frame: text too long for a 1-byte content size");
    }
    Bytes b = {0x28, 0xB5, 0x2F, 0xFD, 0x20, static_cast<uint8_t>(text.size())};
    const uint32_t block = 1u | (static_cast<uint32_t>(text.size()) << 3);
    b.push_back(static_cast<uint8_t>(block));
    b.push_back(static_cast<uint8_t>(block >> 8));
    b.push_back(static_cast<uint8_t>(block >> 16));
    b.insert(b.end(), text.begin(), text.end());
    return b;
}

std::vector<Fixture> all_fixtures() {
    std::vector<Fixture> f;
    f.push_back(http_sessions());
    f.push_back(single_link("good/sll.pcap", LinkType::LinuxSll, "10.0.0.1", "10.0.0.2"));
    f.push_back(sll2());
    f.push_back(vlan());
    f.push_back(ipv6());
    f.push_back(pcapng_single());
    f.push_back(tso_offload());
    f.push_back(midsession());

    f.push_back(
        {"bad/not_a_pcap.txt", to_bytes("This is a plain text file, not a packet capture.\n"
                                        "tcprec must refuse it with one clear error line.\n")});
    const Bytes good = pcap_bytes(PcapOptions{}, short_session());
    f.push_back({"bad/truncated_header.pcap", Bytes(good.begin(), good.begin() + 10)});
    f.push_back(truncated_record());
    f.push_back(wrong_dlt());
    f.push_back(pcapng_multi_if());
    f.push_back(fragments());
    f.push_back({"bad/empty.pcap", pcap_bytes(PcapOptions{}, {})});
    Bytes garbage = pattern_bytes(4096, 42);
    // "GARB": neither the zstd magic 28 B5 2F FD nor a skippable-frame magic 5x 2A 4D 18.
    garbage[0] = 0x47;
    garbage[1] = 0x41;
    garbage[2] = 0x52;
    garbage[3] = 0x42;
    f.push_back({"bad/garbage.pcap.zst", garbage});
    f.push_back({"bad/wrong_content.zst",
                 zstd_raw_frame("This is a valid zstd frame holding plain text.\n"
                                "It is not a tcpr archive and not a pcap file.\n")});
    return f;
}

}  // namespace

int main(int argc, char** argv) {
    const bool check = argc == 3 && std::strcmp(argv[1], "--check") == 0;
    if (!(argc == 2 || check)) {
        std::fprintf(stderr, "usage: make_fixtures [--check] <tests/data dir>\n");
        return 2;
    }
    const std::filesystem::path dir = argv[argc - 1];
    try {
        int differ = 0;
        size_t total = 0;
        for (const Fixture& f : all_fixtures()) {
            const auto path = dir / f.path;
            total += f.bytes.size();
            if (check) {
                Bytes on_disk;
                try {
                    on_disk = read_file(path);
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "make_fixtures: %s\n", e.what());
                    ++differ;
                    continue;
                }
                if (on_disk != f.bytes) {
                    std::fprintf(stderr, "make_fixtures: %s differs from the generator output\n",
                                 f.path.c_str());
                    ++differ;
                }
                continue;
            }
            std::filesystem::create_directories(path.parent_path());
            write_file(path, f.bytes);
            std::printf("%-32s %7zu bytes\n", f.path.c_str(), f.bytes.size());
        }
        if (check) {
            if (differ != 0) {
                std::fprintf(stderr,
                             "make_fixtures: %d fixture(s) out of date; regenerate with "
                             "make_fixtures %s\n",
                             differ, dir.c_str());
                return 1;
            }
            std::printf("make_fixtures: all fixtures up to date\n");
        } else {
            std::printf("total %zu bytes\n", total);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_fixtures: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
