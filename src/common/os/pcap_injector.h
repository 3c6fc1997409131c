// Link-layer injection on a pcap handle (--inject pcap -i IFACE): for hosts where a raw IP
// socket is not wanted (it routes by the host's table) or the frames must leave one interface.
// Like RawSocket it refuses every packet not addressed to the permitted target. The handle's
// capture takes nothing (a filter that rejects every packet); frames are queued by send() and
// leave together at flush() (sendmmsg on the handle's packet socket), at once when 64 wait.
// (Not PACKET_QDISC_BYPASS: it would hide them from captures on the interface.)
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/net/flow_key.h"
#include "common/net/packet_sink.h"
#include "common/os/pcap_source.h"
#include "common/os/raw_socket.h"
#include "common/os/send_batch.h"

namespace tcpr::os {

// "02:00:00:00:00:01" -> bytes; false on bad text.
bool parse_mac(const std::string& text, std::array<uint8_t, 6>& out);
// The MAC of `ip` in a /proc/net/arp style table (text), if present and complete.
bool find_arp_entry(const std::string& table, const net::IpAddress& ip,
                    std::array<uint8_t, 6>& out);

class PcapInjector final : public net::PacketSink {
  public:
    // Opens `interface` for injection. Ethernet interfaces need the next hop's MAC: `next_hop_mac`
    // or, when empty, the target's entry in /proc/net/arp (or the interface's own address on a
    // loopback). Throws one clear line: permission, unknown interface, unsupported link type,
    // "no ARP entry for 10.0.0.2 on eth1: ping it once or give --next-hop-mac".
    static PcapInjector open(const std::string& interface, const net::Endpoint& permitted,
                             const std::string& next_hop_mac);

    PcapInjector(PcapInjector&&) noexcept = default;
    net::SendStatus send(std::span<const uint8_t> ip_packet) override;
    net::SinkLosses flush() override;
    uint64_t refused() const { return refused_; }

  private:
    PcapInjector(PcapHandle h, const net::Endpoint& permitted)
        : h_(std::move(h)), guard_(permitted) {}
    PcapHandle h_;
    TargetGuard guard_;
    int link_ = 0;  // DLT_* value
    std::array<uint8_t, 6> src_mac_{}, dst_mac_{};
    SendBatch batch_;
    uint64_t refused_ = 0;
};

}  // namespace tcpr::os
