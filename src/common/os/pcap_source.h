// libpcap-backed packet sources: a live interface or a pcap/pcapng file, behind one interface.
// The only place (with stop_signal.cpp) that includes <pcap.h>.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

struct pcap;  // pcap_t, opaque

namespace tcpr::os {

struct PcapCloser {
    void operator()(pcap* p) const noexcept;
};
using PcapHandle = std::unique_ptr<pcap, PcapCloser>;

struct LiveCaptureOptions {
    std::string interface;  // "eth0", "any"
    uint32_t snaplen_bytes = 262144;
    bool promiscuous = true;
    uint32_t buffer_bytes = 64u << 20;  // kernel ring; bigger than tcpdump's 2 MiB default
    std::chrono::milliseconds read_timeout{100};  // wake-up period for status and flushes
    std::string filter;                           // BPF expression, empty = everything
    bool immediate = false;  // deliver each packet at once (no kernel block batching)
};

struct CapturedPacket {
    uint64_t ts_ns = 0;
    uint32_t orig_len = 0;
    std::span<const uint8_t> bytes;  // valid until the next next() call
};

struct CaptureCounters {
    uint64_t received = 0;         // packets handed to us
    uint64_t kernel_drops = 0;     // ps_drop: dropped for lack of buffer space
    uint64_t interface_drops = 0;  // ps_ifdrop
};

class PacketSource {
  public:
    enum class Status { Packet, Timeout, End };
    virtual ~PacketSource() = default;
    // Packet: `out` filled. Timeout: nothing within the read timeout (live only). End: file
    // exhausted or stop requested. Throws tcpr::Error on read errors (corrupt file, iface down).
    virtual Status next(CapturedPacket& out) = 0;
    virtual uint32_t link_type() const = 0;  // LINKTYPE_* value (pcap file value)
    virtual uint32_t snaplen() const = 0;
    virtual CaptureCounters counters() const = 0;
    virtual std::string describe() const = 0;  // "live eth0 filter 'tcp port 80'"
    // A descriptor that becomes readable when next() may have a packet (for poll/epoll), or
    // -1 when there is none (files: just call next()).
    virtual int selectable_fd() const { return -1; }
    // Nonblocking: next() returns Timeout at once when no packet is waiting. Live captures
    // only; other sources ignore it. Throws tcpr::Error if libpcap refuses.
    virtual void set_nonblocking(bool on) { (void)on; }
};

// Opens a live capture: create -> wrap -> options -> activate -> filter. Throws one clear line:
// "cannot capture on 'eth9': No such device exists", "...: you need root or CAP_NET_RAW".
std::unique_ptr<PacketSource> open_live(const LiveCaptureOptions& options);

// Opens a pcap or pcapng file (timestamps delivered in ns). Throws one clear line for a missing
// file, a file that is neither pcap nor pcapng, or a bad filter.
std::unique_ptr<PacketSource> open_file(const std::string& path, const std::string& filter = "");

// Maps a live/offline DLT_* value to the LINKTYPE_* value written in pcap files.
uint32_t dlt_to_linktype(int dlt);

// Wakes a blocked capture from a signal handler (async-signal-safe: pcap_breakloop).
void break_capture(pcap* p) noexcept;

}  // namespace tcpr::os
