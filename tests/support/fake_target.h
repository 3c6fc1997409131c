// A tiny in-memory TCP responder for replayer tests: it consumes the packets a replayer sends
// (a net::PacketSink), checks them like a strict receiving stack would (checksums, sequence
// numbers, window), answers requests of configured sizes, and produces the wire::Report values
// intercept would report for each packet it sends, after a configurable one-way delay.
// Faults: refuse (RST to SYN), lose a client segment, lose a report, reset after a request,
// go silent, close first. Several connections (copies) are kept apart by client endpoint.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/net/flow_key.h"
#include "common/net/packet_sink.h"
#include "common/wire/intercept_protocol.h"

namespace tcpr::test {

struct FakeTargetConfig {
    net::Endpoint address;  // the target's IP:port
    uint32_t isn = 5000;
    uint16_t mss = 1460;         // MSS option in the SYN-ACK (0 = none)
    uint8_t window_scale = 7;    // 0xff = no option
    uint32_t window = 1u << 20;  // receive window in bytes
    // Request i is complete once the connection received request_lengths[0..i] bytes in total;
    // the answer has response_lengths[i] bytes and starts with status_lines[i] (if given, else
    // "HTTP/1.1 200 OK\r\n"). Requests past the lists get no answer.
    std::vector<uint32_t> request_lengths;
    std::vector<uint32_t> response_lengths;
    std::vector<std::string> status_lines;
    bool refuse = false;  // RST|ACK to every SYN
    // The target still holds the client's tuple from an older connection (TIME_WAIT, as Linux
    // without timestamps, RFC 6191): a SYN whose sequence number is not beyond this old
    // rcv_nxt is answered with a bare ACK of the old connection; a RST at exactly that
    // sequence number ends the old connection (counted in time_wait_resets).
    std::optional<uint32_t> time_wait_rcv_nxt;
    std::optional<size_t> reset_after_request;   // RST instead of answering request i
    std::optional<size_t> silent_after_request;  // from request i on: no packet at all
    bool close_after_last = false;               // FIN right after the last configured answer
    std::set<uint64_t> drop_client_packets;      // indexes (0-based, all packets received) lost
    std::set<uint64_t> drop_reports;             // indexes of reports intercept never delivers
    bool full_payloads = false;       // reports carry whole payloads (intercept's payload feature)
    std::set<uint64_t> late_reports;  // indexes of reports intercept delivers late
    uint64_t late_by_ns = 0;          //   by this much
    uint64_t one_way_delay_ns = 500'000;  // client->target and target->report each way
    uint64_t rto_ns = 200'000'000;        // the target's own retransmission timeout
    // Answers in pieces: at most answer_segment bytes per segment (0 = the client's MSS), each
    // segment of an answer leaving answer_gap_ns after the previous one (a server writing its
    // answer in parts). A connection's reports stay in the order its packets were sent.
    uint32_t answer_segment = 0;
    uint64_t answer_gap_ns = 0;
};

class FakeTarget final : public net::PacketSink {
  public:
    enum class State { SynReceived, Established, FinSent, Closed, Reset };

    struct Connection {
        net::Endpoint client;
        State state = State::SynReceived;
        uint32_t client_isn = 0;
        uint16_t client_mss = 536;
        uint8_t client_wscale = 0xff;
        uint32_t rcv_nxt = 0;               // next client seq expected
        uint32_t snd_una = 0, snd_nxt = 0;  // our sequence space
        uint32_t client_window = 65535;     // bytes (scaled)
        std::vector<uint8_t> received;      // the client's byte stream, in order
        std::vector<uint8_t> sent;          // our byte stream (answers)
        size_t requests_answered = 0;
        bool got_fin = false, got_rst = false, fin_acked = false;
        uint64_t data_packets = 0, duplicates = 0, out_of_order = 0;
        uint64_t unacked_since = 0;     // when snd_una last moved (retransmit timer)
        uint32_t max_segment_seen = 0;  // largest payload received
        uint64_t last_due = 0;          // when this connection's last packet reaches intercept
        uint64_t last_delivery = 0;     // when its last report reaches the replayer
        bool silent = false;
    };

    explicit FakeTarget(FakeTargetConfig config);

    // A packet from the replayer arrives at the target after one_way_delay (but is processed
    // now: only the reports are delayed, by twice the delay, like a real round trip).
    net::SendStatus send(std::span<const uint8_t> ip_packet) override;

    void set_now(uint64_t now_ns) { now_ = now_ns; }
    uint64_t now() const { return now_; }
    // Retransmits our unacknowledged answers after rto_ns.
    void tick(uint64_t now_ns);
    // Reports due at or before now_ns, in order.
    std::vector<wire::Report> take_reports(uint64_t now_ns);
    // When the next report becomes due or tick() has work; UINT64_MAX if never.
    uint64_t next_event() const;

    const Connection* connection(const net::Endpoint& client) const;
    size_t connections() const { return conns_.size(); }
    // Protocol violations seen (bad checksum, data beyond the window, ...): tests expect none.
    const std::vector<std::string>& errors() const { return errors_; }
    uint64_t packets_received() const { return packets_; }
    // SYNs answered with the old connection's ACK, and RSTs that ended the old connection.
    uint64_t time_wait_acks() const { return time_wait_acks_; }
    uint64_t time_wait_resets() const { return time_wait_resets_; }
    uint64_t reports_made() const { return reports_made_; }

  private:
    struct Pending {
        uint64_t due;
        wire::Report report;
    };
    void answer(Connection& c, const std::string& what);
    void reply(Connection& c, uint8_t flags, uint32_t seq, std::span<const uint8_t> payload,
               bool syn_options = false, uint64_t extra_delay_ns = 0);
    void send_answers(Connection& c);
    void error(const std::string& e) { errors_.push_back(e); }

    FakeTargetConfig cfg_;
    std::map<net::Endpoint, Connection> conns_;
    std::deque<Pending> outbox_;  // ordered by due time
    std::vector<std::string> errors_;
    uint64_t now_ = 0;
    uint64_t packets_ = 0;
    uint64_t time_wait_acks_ = 0, time_wait_resets_ = 0;
    std::optional<uint32_t> time_wait_;  // rcv_nxt of the old connection still held
    uint64_t reports_made_ = 0;
};

}  // namespace tcpr::test
