// Writes classic pcap and pcapng files byte by byte (no libpcap), and parses classic pcap, so
// tests can produce inputs and check outputs. Timestamps are nanoseconds since the epoch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace tcpr::test {

struct PcapRecord {
    uint64_t ts_ns = 0;
    std::vector<uint8_t> bytes;  // the captured bytes
    uint32_t orig_len = 0;       // length on the wire; 0 means bytes.size()
    uint32_t interface_id = 0;   // pcapng only: index into the interface list
};

enum class TsResolution { Micro, Nano };

struct PcapOptions {
    uint32_t link_type = 1;                         // LINKTYPE_* (1 = Ethernet)
    TsResolution resolution = TsResolution::Micro;  // magic a1b2c3d4 (us) or a1b23c4d (ns)
    uint32_t snaplen = 262144;
    bool big_endian = false;  // write the file in big-endian ("swapped" for x86 readers)
};

// A classic pcap file (version 2.4). Microsecond files drop the sub-microsecond part of ts_ns.
std::vector<uint8_t> pcap_bytes(const PcapOptions& options, const std::vector<PcapRecord>& records);
void write_pcap(const std::filesystem::path& path, const PcapOptions& options,
                const std::vector<PcapRecord>& records);

struct PcapngInterface {
    uint32_t link_type = 1;
    uint32_t snaplen = 262144;
    std::string name = "eth0";                     // if_name option; omitted when empty
    TsResolution resolution = TsResolution::Nano;  // if_tsresol option (6 or 9)
};

// A little-endian pcapng file: one Section Header Block, one Interface Description Block per
// interface (in order), then one Enhanced Packet Block per record (record.interface_id must
// index `interfaces`, else std::invalid_argument).
std::vector<uint8_t> pcapng_bytes(const std::vector<PcapngInterface>& interfaces,
                                  const std::vector<PcapRecord>& records);
void write_pcapng(const std::filesystem::path& path, const std::vector<PcapngInterface>& interfaces,
                  const std::vector<PcapRecord>& records);

// A parsed classic pcap file (either byte order, us or ns magic).
struct PcapContents {
    uint16_t version_major = 0, version_minor = 0;
    uint32_t link_type = 0;
    uint32_t snaplen = 0;
    TsResolution resolution = TsResolution::Micro;
    bool big_endian = false;
    std::vector<PcapRecord> records;  // ts_ns converted to nanoseconds, interface_id 0
};

// Throws std::runtime_error naming the problem and its offset on a bad magic, a truncated
// header or a truncated record.
PcapContents parse_pcap(std::span<const uint8_t> file);
PcapContents read_pcap(const std::filesystem::path& path);

// A parsed pcapng file (little- or big-endian sections; SHB, IDB and EPB are read,
// other blocks are skipped). Several sections are concatenated; interface ids in the records
// index `interfaces` across sections.
struct PcapngContents {
    std::vector<PcapngInterface> interfaces;
    std::vector<PcapRecord> records;  // ts_ns converted by the interface's if_tsresol
};

// Throws std::runtime_error naming the problem and its offset on any malformed block.
PcapngContents parse_pcapng(std::span<const uint8_t> file);
PcapngContents read_pcapng(const std::filesystem::path& path);

// Merges per-session record lists into one list ordered by time (stable for equal times).
std::vector<PcapRecord> merge_by_time(const std::vector<std::vector<PcapRecord>>& lists);

}  // namespace tcpr::test
