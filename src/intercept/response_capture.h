// The target's responses as intercept sees them: captured frames -> wire::Report.
// build_report/parse_tcp_options are pure (unit tested on crafted bytes); ResponseCapture
// drains a nonblocking PacketSource in bounded batches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/base/stats.h"
#include "common/net/packet_view.h"
#include "common/net/skip_reason.h"
#include "common/os/pcap_source.h"
#include "common/wire/intercept_protocol.h"

namespace tcpr::icpt {

// The option parser lives in net/ (shared with the replayer); these names keep intercept's code
// and tests reading as before.
using net::parse_tcp_options;
using net::TcpOptions;

// Fills `out` from one decoded packet of `frame` (the captured bytes net::decode saw).
// The tuple is seen from the client: client = the packet's destination, server = its source.
// MSS and window scale are taken from SYN segments only (a SYN-ACK carries the server's).
// `out.payload_head` keeps its capacity between calls.
void build_report(const net::PacketView& v, std::span<const uint8_t> frame, uint64_t ts_ns,
                  wire::Report& out);

class ResponseCapture {
  public:
    // Takes the source and makes it nonblocking.
    explicit ResponseCapture(std::unique_ptr<os::PacketSource> source);

    // Readable when packets wait; -1 for sources without one (poll them every loop).
    int fd() const { return source_->selectable_fd(); }
    // The source ended (a file was exhausted, or a stop was requested).
    bool ended() const { return ended_; }

    using Sink = std::function<void(const wire::Report&)>;
    // Reads at most `max_packets` waiting packets, stopping early when none is waiting or
    // when `max_time` has passed; each TCP packet becomes one report passed to `sink`, every
    // other packet is counted in skips(). Returns the number of packets read.
    size_t poll(size_t max_packets, std::chrono::nanoseconds max_time, const Sink& sink);

    uint64_t packets() const { return packets_; }
    const net::SkipCounts& skips() const { return skips_; }
    os::CaptureCounters counters() const { return source_->counters(); }
    std::string describe() const { return source_->describe(); }

  private:
    std::unique_ptr<os::PacketSource> source_;
    uint32_t link_ = 0;
    bool ended_ = false;
    uint64_t packets_ = 0;
    net::SkipCounts skips_;
    wire::Report scratch_;
};

}  // namespace tcpr::icpt
