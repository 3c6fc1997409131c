#include "support/conversation.h"

#include <algorithm>

namespace tcpr::test {
namespace {

namespace f = net::tcp_flags;

struct Builder {
    const ConversationSpec& spec;
    std::vector<PcapRecord> out;
    uint64_t t;
    uint32_t c_next;  // next client sequence number
    uint32_t s_next;  // next server sequence number

    void emit(bool from_client, uint8_t flags, const Bytes& payload, uint32_t seq,
              std::optional<uint16_t> mss = std::nullopt) {
        TcpSpec seg;
        seg.src = from_client ? spec.client : spec.server;
        seg.dst = from_client ? spec.server : spec.client;
        seg.sport = from_client ? spec.client_port : spec.server_port;
        seg.dport = from_client ? spec.server_port : spec.client_port;
        seg.seq = seq;
        seg.ack = (flags & f::kAck) ? (from_client ? s_next : c_next) : 0;
        seg.flags = flags;
        seg.payload = payload;
        seg.mss = mss;
        seg.zero_checksums = spec.zero_checksums;
        seg.ip_id = static_cast<uint16_t>(out.size() + 1);
        out.push_back(PcapRecord{t, make_tcp(seg, spec.link)});
        t += 10'000;  // 10 us between frames of one burst
    }

    void send_data(bool from_client, const Bytes& data) {
        const size_t mss = std::max<size_t>(1, spec.mss);
        for (size_t off = 0; off < data.size(); off += mss) {
            const size_t n = std::min(mss, data.size() - off);
            const Bytes part(data.begin() + static_cast<std::ptrdiff_t>(off),
                             data.begin() + static_cast<std::ptrdiff_t>(off + n));
            const bool last = off + n == data.size();
            uint32_t& next = from_client ? c_next : s_next;
            const uint32_t seq = next;
            next += static_cast<uint32_t>(n);
            // The ack a segment carries is the peer's next sequence number, unaffected by
            // our own advance above.
            emit(from_client, static_cast<uint8_t>(f::kAck | (last ? f::kPsh : 0)), part, seq);
        }
    }
};

}  // namespace

std::vector<PcapRecord> make_conversation(const ConversationSpec& spec) {
    Builder b{spec, {}, spec.start_ns, spec.client_isn, spec.server_isn};
    const uint64_t half_rtt = spec.rtt_ns / 2;
    if (spec.handshake) {
        b.emit(true, f::kSyn, {}, b.c_next, static_cast<uint16_t>(spec.mss));
        ++b.c_next;
        b.t += half_rtt;
        b.emit(false, f::kSyn | f::kAck, {}, b.s_next, static_cast<uint16_t>(spec.mss));
        ++b.s_next;
        b.t += half_rtt;
        b.emit(true, f::kAck, {}, b.c_next);
    } else {
        ++b.c_next;  // as if the SYN had been sent before the capture started
        ++b.s_next;
    }
    for (const Exchange& ex : spec.exchanges) {
        b.t += ex.think_ns;
        b.send_data(true, ex.request);
        b.t += half_rtt;
        b.send_data(false, ex.response);
        b.t += half_rtt;
        if (!ex.response.empty()) {
            b.emit(true, f::kAck, {}, b.c_next);
        }
    }
    switch (spec.close) {
        case Close::Fin:
            b.emit(true, f::kFin | f::kAck, {}, b.c_next);
            ++b.c_next;
            b.t += half_rtt;
            b.emit(false, f::kFin | f::kAck, {}, b.s_next);
            ++b.s_next;
            b.t += half_rtt;
            b.emit(true, f::kAck, {}, b.c_next);
            break;
        case Close::Rst:
            b.emit(true, f::kRst | f::kAck, {}, b.c_next);
            break;
        case Close::None:
            break;
    }
    return std::move(b.out);
}

Bytes http_request(const std::string& path, const std::string& host) {
    return to_bytes("GET " + path + " HTTP/1.1\r\nHost: " + host +
                    "\r\nUser-Agent: tcpr-test\r\nAccept: */*\r\n\r\n");
}

Bytes http_response(size_t body_len, uint8_t seed) {
    Bytes r = to_bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                       std::to_string(body_len) + "\r\n\r\n");
    // Printable body, so a capture reads well in tcpdump -A.
    const Bytes noise = pattern_bytes(body_len, seed);
    for (uint8_t c : noise) {
        r.push_back(static_cast<uint8_t>('a' + c % 26));
    }
    return r;
}

}  // namespace tcpr::test
