// Builds the captured frames of a whole TCP conversation (handshake, request/response
// exchanges with correct seq/ack, close), timed, ready for write_pcap(): the usual shape of
// HTTP-like test traffic. Server-side capture point: client segments arrive, server answers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "support/packet_factory.h"
#include "support/pcap_file.h"

namespace tcpr::test {

struct Exchange {
    Bytes request;          // client -> server; may be empty (no request segment)
    Bytes response;         // server -> client; may be empty
    uint64_t think_ns = 0;  // pause before the request
};

enum class Close { Fin, Rst, None };

struct ConversationSpec {
    std::string client = "10.0.0.1";  // IPv4 or IPv6 text (both the same family)
    std::string server = "10.0.0.2";
    uint16_t client_port = 40000;
    uint16_t server_port = 80;
    uint32_t client_isn = 1000;
    uint32_t server_isn = 5000;
    uint64_t start_ns = 1'700'000'000'000'000'000ULL;  // 2023-11-14
    uint64_t rtt_ns = 1'000'000;                       // 1 ms
    std::vector<Exchange> exchanges;
    bool handshake = true;     // false: the capture starts mid-session (no SYN, no SYN-ACK)
    Close close = Close::Fin;  // Fin: FIN/ACK both ways + last ACK; Rst: client RST; None
    size_t mss = 1460;         // payloads longer than this are split into several segments
    bool zero_checksums = false;
    LinkSpec link;
};

// Frames in capture order. Timestamps strictly increase.
std::vector<PcapRecord> make_conversation(const ConversationSpec& spec);

// One-line HTTP/1.1 request and a response with a body of `body_len` bytes.
Bytes http_request(const std::string& path, const std::string& host = "test.local");
Bytes http_response(size_t body_len, uint8_t seed = 0);

}  // namespace tcpr::test
