#include "common/os/pcap_injector.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <pcap/pcap.h>

#include "common/base/error.h"

namespace tcpr::os {
namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

bool parse_mac(const std::string& text, std::array<uint8_t, 6>& out) {
    unsigned v[6];
    char tail = 0;
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                    &tail) != 6) {
        return false;
    }
    for (int i = 0; i < 6; ++i) {
        if (v[i] > 0xff) {
            return false;
        }
        out[i] = static_cast<uint8_t>(v[i]);
    }
    return true;
}

bool find_arp_entry(const std::string& table, const net::IpAddress& ip,
                    std::array<uint8_t, 6>& out) {
    // "IP address  HW type  Flags  HW address  Mask  Device"; flags 0x2 = complete.
    std::istringstream in(table);
    std::string line;
    std::getline(in, line);  // header
    const std::string want = ip.to_string();
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string addr, hwtype, flags, mac;
        if (!(f >> addr >> hwtype >> flags >> mac)) {
            continue;
        }
        if (addr == want && flags != "0x0" && parse_mac(mac, out)) {
            return true;
        }
    }
    return false;
}

PcapInjector PcapInjector::open(const std::string& interface, const net::Endpoint& permitted,
                                const std::string& next_hop_mac) {
    const std::string what = "cannot inject on '" + interface + "'";
    char err[PCAP_ERRBUF_SIZE] = {};
    PcapHandle h{pcap_create(interface.c_str(), err)};
    if (!h) {
        throw Error(ErrorKind::Io, what + ": " + err);
    }
    (void)pcap_set_snaplen(h.get(), 128);
    (void)pcap_set_immediate_mode(h.get(), 1);
    const int rc = pcap_activate(h.get());
    if (rc == PCAP_ERROR_PERM_DENIED) {
        throw Error(ErrorKind::Permission,
                    what + ": " + pcap_geterr(h.get()) + " (tcpreplay2 needs root or CAP_NET_RAW)");
    }
    if (rc < 0) {
        throw Error(ErrorKind::Io,
                    what + ": " + pcap_statustostr(rc) + ": " + pcap_geterr(h.get()));
    }
    if (pcap_setnonblock(h.get(), 1, err) != 0) {
        throw Error(ErrorKind::Io, what + ": " + err);
    }
    // The handle only sends: its capture takes nothing (no copy of the interface's traffic
    // into a ring nobody reads).
    bpf_insn reject_all[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
    bpf_program nothing{1, reject_all};
    if (pcap_setfilter(h.get(), &nothing) != 0) {
        throw Error(ErrorKind::Io, what + ": " + pcap_geterr(h.get()));
    }

    PcapInjector inj(std::move(h), permitted);
    inj.link_ = pcap_datalink(inj.h_.get());
    if (inj.link_ == DLT_EN10MB) {
        std::string own = read_text("/sys/class/net/" + interface + "/address");
        while (!own.empty() && (own.back() == '\n' || own.back() == ' ')) {
            own.pop_back();
        }
        if (!parse_mac(own, inj.src_mac_)) {
            throw Error(ErrorKind::Io, what + ": cannot read its MAC address");
        }
        if (!next_hop_mac.empty()) {
            if (!parse_mac(next_hop_mac, inj.dst_mac_)) {
                throw Error(ErrorKind::Usage,
                            "bad value '" + next_hop_mac + "' for --next-hop-mac");
            }
        } else if (interface == "lo") {
            inj.dst_mac_ = inj.src_mac_;
        } else if (!find_arp_entry(read_text("/proc/net/arp"), permitted.addr, inj.dst_mac_)) {
            throw Error(ErrorKind::Usage, what + ": no ARP entry for " +
                                              permitted.addr.to_string() +
                                              " (reach it once, e.g. ping, or give "
                                              "--next-hop-mac of the router toward it)");
        }
    } else if (inj.link_ != DLT_RAW && inj.link_ != DLT_NULL) {
        throw Error(ErrorKind::Unsupported,
                    what + ": link type " + std::string(pcap_datalink_val_to_name(inj.link_)) +
                        " cannot be injected (use an Ethernet, raw-IP or loopback interface)");
    }
    return inj;
}

net::SendStatus PcapInjector::send(std::span<const uint8_t> ip_packet) {
    if (!guard_.permits(ip_packet)) {
        ++refused_;
        return net::SendStatus::Refused;
    }
    uint8_t header[14];
    size_t header_len = 0;
    const bool v6 = (ip_packet[0] >> 4) == 6;
    if (link_ == DLT_EN10MB) {
        std::memcpy(header, dst_mac_.data(), 6);
        std::memcpy(header + 6, src_mac_.data(), 6);
        header[12] = v6 ? 0x86 : 0x08;
        header[13] = v6 ? 0xdd : 0x00;
        header_len = 14;
    } else if (link_ == DLT_NULL) {
        const uint32_t family = v6 ? 10u : 2u;  // AF_INET6 / AF_INET in host order (Linux)
        std::memcpy(header, &family, sizeof family);
        header_len = sizeof family;
    }
    batch_.add(pcap_fileno(h_.get()), nullptr, 0, std::span<const uint8_t>(header, header_len),
               ip_packet);
    return net::SendStatus::Sent;
}

net::SinkLosses PcapInjector::flush() { return batch_.flush(pcap_fileno(h_.get()), nullptr, 0); }

}  // namespace tcpr::os
