// SessionDriver against FakeTarget, in memory with a fake clock: full sessions at ISNs around
// the 2^32 wrap on both sides, MSS splitting, loss and retransmission, lost reports, RST,
// refusal, silence and timeout, closes in both orders, status-line comparison, think times.
#include "replayer/transport/session_driver.h"

#include <algorithm>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "common/net/packet_view.h"
#include "replayer/schedule/scheduler.h"
#include "replayer/sessions/session_builder.h"
#include "support/conversation.h"
#include "support/fake_target.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kStart = 1'000'000'000'000;  // the fake clock's start

net::Endpoint ep(const char* addr, uint16_t port) {
    return net::Endpoint{*net::IpAddress::parse(addr), port};
}

struct SessionSpec {
    std::vector<uint32_t> requests;   // bytes per request
    std::vector<uint32_t> responses;  // recorded answer bytes per request
    std::vector<uint64_t> thinks;     // recorded think time per request (default 0)
    CloseKind close = CloseKind::Fin;
    bool has_syn = true;
    uint64_t rtt_ns = 1 * kMs;
    std::string status = "HTTP/1.1 200 OK";
    net::Endpoint client = ep("10.0.0.1", 40000);
    net::Endpoint server = ep("10.0.0.2", 80);
};

Recording make_recording(const SessionSpec& spec) {
    Recording rec;
    RecordedSession s;
    s.client = spec.client;
    s.server = spec.server;
    s.has_syn = spec.has_syn;
    s.mss = spec.has_syn ? 1460 : 0;
    s.rtt_ns = spec.rtt_ns;
    s.close = spec.close;
    uint32_t off = 0;
    for (size_t i = 0; i < spec.requests.size(); ++i) {
        RecordedRequest r;
        r.begin = off;
        r.length = spec.requests[i];
        r.response_len = spec.responses.at(i);
        r.think_ns = i < spec.thinks.size() ? spec.thinks[i] : 0;
        r.status_off = static_cast<uint32_t>(rec.text.size());
        r.status_len = static_cast<uint16_t>(spec.status.size());
        rec.text += spec.status;
        for (uint32_t k = 0; k < r.length; ++k) {
            rec.arena.push_back(static_cast<uint8_t>((off + k) * 7 + i));
        }
        off += r.length;
        rec.requests.push_back(r);
    }
    s.stream_len = off;
    s.request_count = static_cast<uint32_t>(spec.requests.size());
    rec.sessions.push_back(s);
    return rec;
}

test::FakeTargetConfig target_for(const SessionSpec& spec) {
    test::FakeTargetConfig t;
    t.address = spec.server;
    t.request_lengths = spec.requests;
    t.response_lengths = spec.responses;
    return t;
}

// Records when each packet left the driver, then hands it to the fake target.
class TimedSink final : public net::PacketSink {
  public:
    explicit TimedSink(test::FakeTarget& t) : target_(t) {}
    net::SendStatus send(std::span<const uint8_t> p) override {
        const auto d = net::decode(net::LinkType::Raw, p);
        Sent s;
        s.at = target_.now();
        if (d.ok()) {
            s.flags = d.packet().flags;
            s.payload = d.packet().payload_len;
            s.seq = d.packet().seq;
            s.ack = d.packet().ack;
        }
        sent.push_back(s);
        return target_.send(p);
    }
    struct Sent {
        uint64_t at = 0;
        uint8_t flags = 0;
        uint32_t payload = 0;
        uint32_t seq = 0;
        uint32_t ack = 0;
    };
    std::vector<Sent> sent;

  private:
    test::FakeTarget& target_;
};

struct Harness {
    Recording rec;
    DriverConfig cfg;
    test::FakeTarget target;
    TimedSink sink{target};
    ReplayCounters counters;
    DriverEnv env{rec, cfg, sink, counters, {}, 1};
    uint64_t now = kStart;
    // As intercept does for a replayer that asked for wire::kFeatureMerge: the data segments
    // of one batch that follow each other in sequence arrive as one report.
    bool merge = false;
    uint64_t reports_seen = 0, reports_delivered = 0;

    Harness(Recording r, test::FakeTargetConfig t, DriverConfig c = {})
        : rec(std::move(r)), cfg(c), target(std::move(t)) {
        cfg.target = target_address();
    }
    net::Endpoint target_address() const { return rec.sessions.at(0).server; }

    // Runs until the driver is done (and the target's last packets are delivered).
    void run(SessionDriver& d) {
        target.set_now(now);
        d.start(env, now);
        constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
        for (int i = 0; i < 200'000 && !d.finished(); ++i) {
            target.set_now(now);
            auto reports = target.take_reports(now);
            reports_seen += reports.size();
            if (merge) {
                reports = merged(std::move(reports));
            }
            reports_delivered += reports.size();
            if (!reports.empty()) {
                for (const auto& r : reports) {
                    d.on_report(env, r, now);
                }
                d.flush(env, now);
                continue;
            }
            const uint64_t next = std::min(d.deadline_in(env), target.next_event());
            if (next == kNever) {
                break;
            }
            now = std::max(now, next);
            target.set_now(now);
            target.tick(now);
            d.on_timer(env, now);
        }
    }
    static std::vector<wire::Report> merged(std::vector<wire::Report> in) {
        using namespace net::tcp_flags;
        std::vector<wire::Report> out;
        for (wire::Report& r : in) {
            if (!out.empty()) {
                wire::Report& last = out.back();
                if (last.tuple == r.tuple && last.payload_len > 0 && r.payload_len > 0 &&
                    (last.flags & (kSyn | kFin | kRst)) == 0 && (r.flags & (kSyn | kRst)) == 0 &&
                    r.seq == last.seq + last.payload_len) {
                    last.payload_len += r.payload_len;
                    last.ack = r.ack;
                    last.window = r.window;
                    last.flags |= r.flags;
                    last.span_ns = static_cast<uint32_t>(r.ts_ns - last.ts_ns);
                    continue;
                }
            }
            if (r.payload_head.size() > wire::kMaxPayloadHead) {
                r.payload_head.resize(wire::kMaxPayloadHead);
            }
            out.push_back(std::move(r));
        }
        return out;
    }
    // When each packet carrying payload left the driver, in order.
    std::vector<uint64_t> data_sent_at() const {
        std::vector<uint64_t> at;
        for (const auto& s : sink.sent) {
            if (s.payload > 0) {
                at.push_back(s.at);
            }
        }
        return at;
    }
    std::vector<uint8_t> stream() const {
        auto s = rec.stream(rec.sessions.at(0));
        return {s.begin(), s.end()};
    }
    const test::FakeTarget::Connection& conn(const net::Endpoint& client) const {
        const auto* c = target.connection(client);
        REQUIRE(c != nullptr);
        return *c;
    }
};

SessionSpec keep_alive() {
    SessionSpec s;
    s.requests = {120, 5000, 300};
    s.responses = {900, 20'000, 300};
    return s;
}

}  // namespace

TEST_CASE("a keep-alive session replays byte-exact at ISNs around the wrap, both sides",
          "[replay][driver]") {
    const uint32_t ours = GENERATE(0u, 0x80000000u, 0xfffffffbu, 0xffffffffu);
    const uint32_t theirs = GENERATE(0u, 0x80000000u, 0xfffffffbu, 0xffffffffu);
    CAPTURE(ours, theirs);
    const SessionSpec spec = keep_alive();
    auto t = target_for(spec);
    t.isn = theirs;
    Harness h(make_recording(spec), t);
    const net::Endpoint client = ep("10.9.0.1", 50001);
    SessionDriver d(0, client, ours);
    h.run(d);

    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.target.errors().empty());
    const auto& c = h.conn(client);
    CHECK(c.client_isn == ours);
    CHECK(c.received == h.stream());
    CHECK(c.requests_answered == 3);
    CHECK(c.state == test::FakeTarget::State::Closed);
    CHECK(c.duplicates == 0);
    CHECK(h.counters.sessions_started == 1);
    CHECK(h.counters.sessions_completed == 1);
    CHECK(h.counters.requests_sent == 3);
    CHECK(h.counters.responses_seen == 3);
    CHECK(h.counters.responses_complete == 3);
    CHECK(h.counters.response_bytes == 900 + 20'000 + 300);
    CHECK(h.counters.status_match == 3);
    CHECK(h.counters.status_mismatch == 0);
    CHECK(h.counters.retransmissions == 0);
    CHECK(h.counters.payload_bytes_sent == 5420);
    CHECK(h.counters.send_refused == 0);
}

TEST_CASE("client bytes are split to the target's MSS", "[replay][driver]") {
    SessionSpec spec;
    spec.requests = {40'000};  // a TSO-sized recorded segment
    spec.responses = {100};
    auto t = target_for(spec);
    t.mss = 536;
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 12345);
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.target.errors().empty());
    const auto& c = h.conn(spec.client);
    CHECK(c.max_segment_seen == 536);
    CHECK(c.received == h.stream());
    CHECK(c.data_packets == (40'000 + 535) / 536);
}

TEST_CASE("a lost client segment is retransmitted", "[replay][driver]") {
    const uint32_t isn = GENERATE(0x7fffffffu, 0xfffffffbu);
    CAPTURE(isn);
    SessionSpec spec;
    spec.requests = {6000};
    spec.responses = {700};
    auto t = target_for(spec);
    // Packets: 0 SYN, 1 ACK, 2..6 data (1460 x 4 + 160): lose the second data segment.
    t.drop_client_packets = {3};
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, isn);
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.target.errors().empty());
    CHECK(h.conn(spec.client).received == h.stream());
    CHECK(h.conn(spec.client).out_of_order > 0);
    CHECK(h.counters.retransmissions >= 1);
    CHECK(h.counters.responses_complete == 1);
}

TEST_CASE("retransmissions are told apart: the target's drops vs our early timer",
          "[replay][driver]") {
    SessionSpec spec;
    spec.requests = {100, 100};
    spec.responses = {50, 50};
    // The target dropped the first request (its accept queue was full): the retransmission
    // was needed.
    {
        auto t = target_for(spec);
        t.drop_client_packets = {1};  // #0 SYN, #1 handshake ACK + request 1 together
        Harness h(make_recording(spec), t);
        SessionDriver d(0, spec.client, 1);
        h.run(d);
        CHECK(d.outcome() == Outcome::Completed);
        CHECK(h.counters.retransmissions == 1);
        CHECK(h.counters.retransmissions_spurious == 0);
    }
    // Intercept held up the report of the target's ACK beyond our timer: the target had the
    // request, answers our copy with a duplicate ACK, and the retransmission is ours.
    {
        auto t = target_for(spec);
        t.late_reports = {1};  // the answer (and ACK) of request 1; report 0 is the SYN-ACK
        t.late_by_ns = 400 * kMs;
        Harness h(make_recording(spec), t);
        SessionDriver d(0, spec.client, 1);
        h.run(d);
        CHECK(d.outcome() == Outcome::Completed);
        CHECK(h.counters.retransmissions >= 1);
        CHECK(h.counters.retransmissions_spurious == h.counters.retransmissions);
        CHECK(h.conn(spec.client).duplicates >= 1);
        CHECK(h.conn(spec.client).received == h.stream());
    }
}

TEST_CASE("a lost tail segment is recovered by the retransmission timer", "[replay][driver]") {
    SessionSpec spec;
    spec.requests = {2000};
    spec.responses = {10};
    auto t = target_for(spec);
    // SYN, data 1460 (carrying the handshake's ACK), data 540 (lost): no dup ACKs follow.
    t.drop_client_packets = {2};
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 99);
    const uint64_t begin = h.now;
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.counters.retransmissions == 1);
    // The RTO came from the handshake RTT sample (3 x 1 ms, floored at 200 ms), not 1 s.
    CHECK(h.now - begin < 500 * kMs);
}

TEST_CASE("the handshake's ACK rides on the first request when it is due at once",
          "[replay][driver]") {
    for (const uint64_t think : {uint64_t{0}, 5 * kMs}) {
        SessionSpec spec;
        spec.requests = {100};
        spec.responses = {10};
        spec.thinks = {think};
        Harness h(make_recording(spec), target_for(spec));
        SessionDriver d(0, spec.client, 7);
        h.run(d);
        INFO("think time " << think << " ns");
        REQUIRE(d.outcome() == Outcome::Completed);
        REQUIRE(h.sink.sent.size() >= 3);
        CHECK(h.sink.sent[0].flags == net::tcp_flags::kSyn);
        const auto& second = h.sink.sent[1];
        CHECK((second.flags & net::tcp_flags::kAck) != 0);
        CHECK(second.seq == 8u);  // ISN + 1
        if (think == 0) {
            CHECK(second.payload == 100);  // no pure ACK: one packet fewer
        } else {
            CHECK(second.payload == 0);  // the ACK cannot wait for the think time
            CHECK(h.sink.sent[2].payload == 100);
            CHECK(h.sink.sent[2].at - h.sink.sent[1].at >= 5 * kMs);
        }
    }
}

TEST_CASE("a small answer's ACK is delayed: it rides on the next request or leaves alone",
          "[replay][driver]") {
    for (const uint64_t think : {uint64_t{0}, 20 * kMs, 100 * kMs}) {
        SessionSpec spec;
        spec.requests = {100, 100};
        spec.responses = {300, 300};
        spec.thinks = {0, think};
        Harness h(make_recording(spec), target_for(spec));
        SessionDriver d(0, spec.client, 1000);
        h.run(d);
        INFO("think time before the second request " << think << " ns");
        REQUIRE(d.outcome() == Outcome::Completed);
        // Packets between the first request and the second.
        const auto& sent = h.sink.sent;
        size_t first = sent.size(), second = sent.size();
        for (size_t i = 0; i < sent.size(); ++i) {
            if (sent[i].payload > 0) {
                (first == sent.size() ? first : second) = i;
            }
        }
        REQUIRE(second < sent.size());
        if (think < h.cfg.single_segment_ack_ns) {
            // The second request carries the ACK of the first answer (one segment, so the ACK
            // may wait as a Linux client's would): nothing in between.
            CHECK(second == first + 1);
            CHECK(sent[second].ack == 5000u + 1 + 300);  // the target's ISN + 1 + the answer
        } else {
            // Acknowledged alone, after the delay, before the think time ends.
            REQUIRE(second == first + 2);
            const auto& ack = sent[first + 1];
            CHECK(ack.payload == 0);
            CHECK(ack.at - sent[first].at >= h.cfg.single_segment_ack_ns);
            CHECK(ack.at - sent[first].at < think);
            CHECK(sent[second].ack == ack.ack);  // nothing new to acknowledge since
        }
    }
}

TEST_CASE("an answer ending in more than one unacknowledged segment waits only the short delay",
          "[replay][driver]") {
    // 2,000 bytes in two segments: the target has two packets in flight, and its tail-loss
    // probe comes after 2 RTT and a few ms, not 200 ms: no waiting for the next request.
    SessionSpec spec;
    spec.requests = {100, 100};
    spec.responses = {2000, 300};
    spec.thinks = {0, 100 * kMs};
    auto t = target_for(spec);
    t.answer_segment = 1460;
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 1000);
    h.run(d);
    REQUIRE(d.outcome() == Outcome::Completed);
    const auto& sent = h.sink.sent;
    size_t first = sent.size();
    for (size_t i = 0; i < sent.size() && first == sent.size(); ++i) {
        first = sent[i].payload > 0 ? i : first;
    }
    REQUIRE(first + 2 < sent.size());
    const auto& ack = sent[first + 1];
    CHECK(ack.payload == 0);
    CHECK(ack.ack == 5000u + 1 + 2000);
    CHECK(ack.at - sent[first].at >= h.cfg.delayed_ack_ns);
    CHECK(ack.at - sent[first].at < 10 * kMs);
}

TEST_CASE("an answer still short of its recorded length is acknowledged at once",
          "[replay][driver]") {
    // The answer comes in 1460-byte pieces 5 ms apart: each is acknowledged as it is reported,
    // not after the delay (a target may wait for that ACK to send more).
    SessionSpec spec;
    spec.requests = {100};
    spec.responses = {10 * 1460};
    auto t = target_for(spec);
    t.answer_segment = 1460;
    t.answer_gap_ns = 5 * kMs;
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 77);
    h.run(d);
    REQUIRE(d.outcome() == Outcome::Completed);
    CHECK(h.counters.responses_complete == 1);
    std::vector<uint64_t> ack_times;
    uint64_t request_at = 0;
    for (const auto& p : h.sink.sent) {
        if (p.payload > 0) {
            request_at = p.at;
        } else if (p.flags == net::tcp_flags::kAck && request_at != 0) {
            ack_times.push_back(p.at);
        }
    }
    REQUIRE(ack_times.size() >= 9);
    // The first piece: one round trip (2 x 0.5 ms) after the request, no delay added.
    CHECK(ack_times[0] - request_at < h.cfg.delayed_ack_ns);
    for (size_t i = 1; i + 1 < ack_times.size(); ++i) {
        CHECK(ack_times[i] - ack_times[i - 1] == 5 * kMs);
    }
}

TEST_CASE("answers intercept did not report are acknowledged and counted unseen",
          "[replay][driver]") {
    SessionSpec spec;
    spec.requests = {100};
    spec.responses = {5000};
    auto t = target_for(spec);
    t.drop_reports = {1};  // report 0 = SYN-ACK, 1 = first answer segment (with the status line)
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 5);
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.counters.response_bytes == 5000);
    CHECK(h.counters.response_bytes_unseen == 1460);
    CHECK(h.counters.status_unknown == 1);
    CHECK(h.counters.responses_complete == 1);
    CHECK(h.conn(spec.client).state == test::FakeTarget::State::Closed);
}

TEST_CASE("answer segments overtaken on the way to intercept are compared, not counted unseen",
          "[replay][driver][compare]") {
    SessionSpec spec;
    spec.requests = {100};
    spec.responses = {20'000};
    auto t = target_for(spec);
    t.status_lines = {"+OK\r\n"};  // not HTTP: the whole answer is digested
    t.full_payloads = true;        // intercept forwards payloads (protocol version 2)
    Recording rec = make_recording(spec);
    // The recorded answer: what the fake target sends (FakeTarget::answer).
    std::vector<uint8_t> answer(20'000);
    for (size_t k = 0; k < answer.size(); ++k) {
        answer[k] = static_cast<uint8_t>('a' + k % 26);
    }
    std::copy_n("+OK\r\n", 5, answer.begin());
    AnswerDigest expected;
    expected.add(answer);
    rec.requests[0].body_digest = expected.value();
    DriverConfig cfg;
    cfg.compare_bodies = true;
    Harness h(std::move(rec), t, cfg);
    AnswerVotes votes(1);
    h.env.votes = &votes;
    SessionDriver d(0, spec.client, 5);
    // The run loop of Harness::run, but the first batch with two data segments arrives with
    // them swapped (the veth's two CPUs reorder packets before intercept's capture).
    h.target.set_now(h.now);
    d.start(h.env, h.now);
    bool swapped = false;
    for (int i = 0; i < 200'000 && !d.finished(); ++i) {
        h.target.set_now(h.now);
        auto reports = h.target.take_reports(h.now);
        if (!reports.empty()) {
            if (!swapped && reports.size() >= 2 && reports[0].payload_len > 0 &&
                reports[1].payload_len > 0) {
                std::swap(reports[0], reports[1]);
                swapped = true;
            }
            for (const auto& r : reports) {
                d.on_report(h.env, r, h.now);
            }
            d.flush(h.env, h.now);
            continue;
        }
        const uint64_t next = std::min(d.deadline_in(h.env), h.target.next_event());
        if (next == std::numeric_limits<uint64_t>::max()) {
            break;
        }
        h.now = std::max(h.now, next);
        h.target.set_now(h.now);
        h.target.tick(h.now);
        d.on_timer(h.env, h.now);
    }
    REQUIRE(swapped);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.counters.response_bytes == 20'000);
    CHECK(h.counters.response_bytes_unseen == 0);  // overtaken, not lost
    REQUIRE(h.counters.endpoints.all().size() == 1);
    const EndpointStats& e = h.counters.endpoints.all()[0];
    CHECK(e.body_compared == 1);
    CHECK(e.body_mismatch == 0);  // the digest took the bytes in their order
}

TEST_CASE("a RST from the target fails the session as reset by target", "[replay][driver]") {
    const SessionSpec spec = keep_alive();
    auto t = target_for(spec);
    t.reset_after_request = 1;
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 0xfffffff0u);
    h.run(d);
    CHECK(d.outcome() == Outcome::ResetByTarget);
    CHECK(h.counters.sessions_reset == 1);
    CHECK(h.counters.sessions_completed == 0);
    CHECK(h.counters.requests_sent == 2);
    CHECK(h.counters.requests_unsent == 1);
    CHECK(h.counters.responses_seen == 1);
}

TEST_CASE("a refused connection fails fast", "[replay][driver]") {
    SessionSpec spec = keep_alive();
    auto t = target_for(spec);
    t.refuse = true;
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 1);
    const uint64_t begin = h.now;
    h.run(d);
    CHECK(d.outcome() == Outcome::ResetByTarget);
    CHECK(h.now - begin < 10 * kMs);
    CHECK(h.counters.requests_unsent == 3);
}

TEST_CASE("a target that goes silent makes the session time out and be reset", "[replay][driver]") {
    SessionSpec spec = keep_alive();
    auto t = target_for(spec);
    t.silent_after_request = 1;
    DriverConfig cfg;
    cfg.timeout_ns = 3'000 * kMs;
    Harness h(make_recording(spec), t, cfg);
    SessionDriver d(0, spec.client, 1);
    const uint64_t begin = h.now;
    h.run(d);
    CHECK(d.outcome() == Outcome::TimedOut);
    CHECK(h.counters.sessions_timed_out == 1);
    CHECK(h.conn(spec.client).got_rst);  // we reset it: nothing is left half-open
    CHECK(h.now - begin >= 3'000 * kMs);
    CHECK(h.now - begin < 3'100 * kMs);
    CHECK(h.counters.retransmissions > 0);  // the unanswered request was retried meanwhile
}

TEST_CASE("a target that never answers the SYN times out after SYN retransmissions",
          "[replay][driver]") {
    SessionSpec spec = keep_alive();
    auto t = target_for(spec);
    for (uint64_t i = 0; i < 50; ++i) {
        t.drop_client_packets.insert(i);
    }
    DriverConfig cfg;
    cfg.timeout_ns = 10'000 * kMs;
    Harness h(make_recording(spec), t, cfg);
    SessionDriver d(0, spec.client, 1);
    h.run(d);
    CHECK(d.outcome() == Outcome::TimedOut);
    CHECK(h.counters.syn_retransmissions == 3);  // at 1 s, 3 s, 7 s
    CHECK(h.target.connections() == 0);
}

TEST_CASE("a SYN met by an old connection's ACK resets it and retries at once",
          "[replay][driver]") {
    // A second replay right after the first: the target still holds the tuple in TIME_WAIT
    // and our ISN is not beyond the old connection's, so it answers the SYN with a bare ACK.
    // As a kernel client does, we reset at the acknowledged sequence number and send the SYN
    // again at once (not after the 1 s SYN timer).
    SessionSpec spec = keep_alive();
    auto t = target_for(spec);
    t.time_wait_rcv_nxt = 500'000;
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 1000);  // ISN 1000: not beyond 500000
    const uint64_t begin = h.now;
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.target.time_wait_acks() == 1);
    CHECK(h.target.time_wait_resets() == 1);
    CHECK(h.counters.syn_tuple_in_use == 1);
    CHECK(h.counters.syn_retransmissions == 1);
    CHECK(h.now - begin < 100 * kMs);
    CHECK(h.conn(spec.client).received == h.stream());
    // The RST carried exactly the sequence number the old connection's ACK named.
    const auto rst = std::find_if(h.sink.sent.begin(), h.sink.sent.end(),
                                  [](const auto& p) { return (p.flags & net::tcp_flags::kRst); });
    REQUIRE(rst != h.sink.sent.end());
    CHECK(rst->seq == 500'000);

    // An ISN beyond the old connection's is simply accepted (RFC 6191), as for a kernel client.
    Harness fresh(make_recording(spec), t);
    SessionDriver d2(0, spec.client, 900'000);
    fresh.run(d2);
    CHECK(d2.outcome() == Outcome::Completed);
    CHECK(fresh.target.time_wait_acks() == 0);
    CHECK(fresh.counters.syn_tuple_in_use == 0);
}

TEST_CASE("the target closing first after the last answer completes the session",
          "[replay][driver]") {
    SessionSpec spec = keep_alive();
    auto t = target_for(spec);
    t.close_after_last = true;
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 0xffffffffu);
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.counters.closed_early == 0);
    CHECK(h.conn(spec.client).state == test::FakeTarget::State::Closed);
    CHECK(h.target.errors().empty());
}

TEST_CASE("the target closing before every request was sent ends the session early",
          "[replay][driver]") {
    SessionSpec spec = keep_alive();
    auto t = target_for(spec);
    t.request_lengths.resize(1);  // it answers the first request, then closes
    t.response_lengths.resize(1);
    t.close_after_last = true;
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 7);
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.counters.closed_early == 1);
    // The answer and the FIN arrive in one batch: the FIN is seen before request 2 would go.
    CHECK(h.counters.requests_sent == 1);
    CHECK(h.counters.requests_unsent == 2);
    CHECK(h.conn(spec.client).state == test::FakeTarget::State::Closed);
    CHECK(h.counters.requests_unanswered == 0);  // nothing it was asked went unanswered
    CHECK(h.counters.sessions_unanswered == 0);
}

TEST_CASE("a target that closes with a request unanswered fails the session", "[replay][driver]") {
    // An overloaded nginx out of worker_connections closes connections whose request it has
    // not read: the request was sent, the recording has its answer, the target sent a FIN.
    SessionSpec spec;
    spec.requests = {100};
    spec.responses = {500};
    auto t = target_for(spec);
    t.response_lengths = {0};  // no answer
    t.close_after_last = true;
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 7);
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.counters.requests_sent == 1);
    CHECK(h.counters.responses_seen == 0);
    CHECK(h.counters.requests_unanswered == 1);
    CHECK(h.counters.sessions_unanswered == 1);
    CHECK(h.counters.closed_early == 1);
}

TEST_CASE("the target closing during a think time ends the session without sending more",
          "[replay][driver]") {
    SessionSpec spec = keep_alive();
    spec.thinks = {0, 100 * kMs, 0};
    auto t = target_for(spec);
    t.request_lengths.resize(1);
    t.response_lengths.resize(1);
    t.close_after_last = true;
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 0xfffffffdu);
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.counters.closed_early == 1);
    CHECK(h.counters.requests_sent == 1);
    CHECK(h.counters.requests_unsent == 2);
    CHECK(h.conn(spec.client).received.size() == 120);
    CHECK(h.conn(spec.client).state == test::FakeTarget::State::Closed);
}

TEST_CASE("status lines that differ from the recording are counted with examples",
          "[replay][driver]") {
    SessionSpec spec;
    spec.requests = {50, 50};
    spec.responses = {200, 200};
    auto t = target_for(spec);
    t.status_lines = {"HTTP/1.1 200 OK\r\n", "HTTP/1.1 503 Service Unavailable\r\n"};
    Harness h(make_recording(spec), t);
    const net::Endpoint client = ep("10.0.0.1", 41000);
    SessionDriver d(0, client, 3);
    h.run(d);
    CHECK(h.counters.status_match == 1);
    CHECK(h.counters.status_mismatch == 1);
    REQUIRE(h.counters.mismatch_examples.size() == 1);
    const auto& m = h.counters.mismatch_examples[0];
    CHECK(m.request == 1);
    CHECK(m.expected == "HTTP/1.1 200 OK");
    CHECK(m.got == "HTTP/1.1 503 Service Unavailable");
    CHECK(m.client == "10.0.0.1:41000");
}

TEST_CASE("think times are scaled by the speed; max drops them", "[replay][driver]") {
    SessionSpec spec;
    spec.requests = {10, 10};
    spec.responses = {10, 10};
    spec.thinks = {200 * kMs, 400 * kMs};
    const uint32_t speed = GENERATE(1000u, 2000u, 500u, 0u);
    CAPTURE(speed);
    DriverConfig cfg;
    cfg.speed_milli = speed;
    Harness h(make_recording(spec), target_for(spec), cfg);
    SessionDriver d(0, spec.client, 1);
    h.run(d);
    REQUIRE(d.outcome() == Outcome::Completed);
    const std::vector<uint64_t> data_at = h.data_sent_at();
    REQUIRE(data_at.size() == 2);
    // Request 1 leaves think(0)/speed after the handshake ACK (at kStart + 1 ms RTT);
    // request 2 leaves think(1)/speed after the first answer arrived (1 ms later) and the
    // settle period after it (at least settle_min, far below the 250 ms quiet period).
    const uint64_t handshake = kStart + 1 * kMs;
    CHECK(data_at[0] == handshake + scale_time(200 * kMs, speed));
    const uint64_t answered = data_at[0] + 1 * kMs + scale_time(400 * kMs, speed);
    CHECK(data_at[1] >= answered + cfg.settle_min_ns);
    CHECK(data_at[1] < answered + 10 * kMs);
}

TEST_CASE(
    "live passthrough: an answer exactly as long as the online one ends at once, without the "
    "settle pause",
    "[replay][driver]") {
    SessionSpec spec;
    spec.requests = {10, 10, 10};
    spec.responses = {10, 10, 10};
    spec.thinks = {0, 0, 0};
    const bool exact = GENERATE(false, true);
    CAPTURE(exact);
    DriverConfig cfg;
    cfg.speed_milli = 0;
    cfg.exact_length_ends = exact;
    Harness h(make_recording(spec), target_for(spec), cfg);
    SessionDriver d(0, spec.client, 1);
    h.run(d);
    REQUIRE(d.outcome() == Outcome::Completed);
    const std::vector<uint64_t> data_at = h.data_sent_at();
    REQUIRE(data_at.size() == 3);
    for (size_t i = 1; i < data_at.size(); ++i) {
        CAPTURE(i);
        // The answer arrives 1 ms (the round trip) after its request.
        if (exact) {
            CHECK(data_at[i] == data_at[i - 1] + 1 * kMs);
        } else {
            CHECK(data_at[i] >= data_at[i - 1] + 1 * kMs + cfg.settle_min_ns);
        }
    }
    CHECK(h.counters.status_match == 3);
}

TEST_CASE("an answer shorter than recorded ends after the quiet period", "[replay][driver]") {
    SessionSpec spec;
    spec.requests = {10, 10};
    spec.responses = {5000, 10};
    spec.rtt_ns = 100 * kMs;  // quiet = clamp(4 x 100 ms, 250 ms, 2 s) = 400 ms
    auto t = target_for(spec);
    t.response_lengths = {3000, 10};
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 1);
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.counters.responses_quiet == 1);
    CHECK(h.counters.responses_complete == 1);
    CHECK(h.counters.responses_seen == 2);
    const std::vector<uint64_t> data_at = h.data_sent_at();
    REQUIRE(data_at.size() == 2);
    CHECK(data_at[1] - data_at[0] >= 400 * kMs);
    CHECK(data_at[1] - data_at[0] < 405 * kMs);
}

TEST_CASE("an answer longer than recorded is read to its tail before the next request",
          "[replay][driver]") {
    // Recorded answers of 1000 bytes; the target sends 3000 in six 500-byte segments, 0.5 ms
    // apart (far below the 250 ms quiet period). Each answer has its own status line, so a
    // tail taken for the next answer's start would be counted a mismatch.
    SessionSpec spec;
    spec.requests = {100, 100, 100};
    spec.responses = {1000, 1000, 1000};
    const std::vector<std::string> lines = {"HTTP/1.1 200 First", "HTTP/1.1 201 Second",
                                            "HTTP/1.1 202 Third"};
    Recording rec = make_recording(spec);
    for (size_t i = 0; i < lines.size(); ++i) {
        rec.requests[i].status_off = static_cast<uint32_t>(rec.text.size());
        rec.requests[i].status_len = static_cast<uint16_t>(lines[i].size());
        rec.text += lines[i];
    }
    auto t = target_for(spec);
    t.response_lengths = {3000, 3000, 3000};
    for (const auto& l : lines) {
        t.status_lines.push_back(l + "\r\n");
    }
    t.answer_segment = 500;
    t.answer_gap_ns = kMs / 2;
    Harness h(std::move(rec), t);
    SessionDriver d(0, spec.client, 77);
    h.run(d);
    REQUIRE(d.outcome() == Outcome::Completed);
    CHECK(h.target.errors().empty());
    CHECK(h.counters.status_match == 3);
    CHECK(h.counters.status_mismatch == 0);
    CHECK(h.counters.status_unknown == 0);
    CHECK(h.counters.responses_seen == 3);
    CHECK(h.counters.responses_complete == 3);
    CHECK(h.counters.responses_quiet == 0);
    // Each request leaves only once the previous answer's last byte was seen: its first
    // segment acknowledges all of it.
    std::vector<TimedSink::Sent> data;
    for (const auto& s : h.sink.sent) {
        if (s.payload > 0) {
            data.push_back(s);
        }
    }
    REQUIRE(data.size() == 3);
    const uint32_t target_data = t.isn + 1;
    CHECK(data[1].ack == target_data + 3000);
    CHECK(data[2].ack == target_data + 6000);
    // Past the recorded length every piece is acknowledged at once (a target may hold the rest
    // back until it is, Nagle): the whole first answer was acknowledged before the next request
    // by ACKs of their own, not only by the request.
    std::vector<TimedSink::Sent> acks;
    for (const auto& s : h.sink.sent) {
        if (s.payload == 0 && s.flags == net::tcp_flags::kAck && s.at > data[0].at &&
            s.at < data[1].at) {
            acks.push_back(s);
        }
    }
    REQUIRE(acks.size() >= 4);
    CHECK(acks.back().ack == target_data + 3000);
    // The tail arrives 1 ms + 5 x 0.5 ms after the request; the settle period is short.
    for (size_t i = 1; i < data.size(); ++i) {
        CHECK(data[i].at - data[i - 1].at >= 3 * kMs + kMs / 2 + h.cfg.settle_min_ns);
        CHECK(data[i].at - data[i - 1].at < 10 * kMs);
    }
}

TEST_CASE("the target's receive window is respected", "[replay][driver]") {
    SessionSpec spec;
    spec.requests = {30'000};
    spec.responses = {10};
    auto t = target_for(spec);
    t.window = 4000;
    t.window_scale = 0xff;
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 0xfffff000u);
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.target.errors().empty());  // "data beyond the advertised window" would be listed
    CHECK(h.conn(spec.client).received == h.stream());
}

TEST_CASE("recorded RST close, connect-only session, mid-session SYN, IPv6", "[replay][driver]") {
    SECTION("a recorded RST close is replayed as RST") {
        SessionSpec spec;
        spec.requests = {10};
        spec.responses = {10};
        spec.close = CloseKind::Rst;
        Harness h(make_recording(spec), target_for(spec));
        SessionDriver d(0, spec.client, 1);
        h.run(d);
        CHECK(d.outcome() == Outcome::Completed);
        CHECK(h.conn(spec.client).got_rst);
        CHECK_FALSE(h.conn(spec.client).got_fin);
    }
    SECTION("a session without requests connects and closes") {
        SessionSpec spec;
        Harness h(make_recording(spec), target_for(spec));
        SessionDriver d(0, spec.client, 1);
        h.run(d);
        CHECK(d.outcome() == Outcome::Completed);
        CHECK(h.conn(spec.client).state == test::FakeTarget::State::Closed);
    }
    SECTION("a mid-session recording gets a SYN with our MSS option") {
        SessionSpec spec;
        spec.has_syn = false;
        spec.requests = {10};
        spec.responses = {10};
        auto t = target_for(spec);
        t.mss = 9000;
        Harness h(make_recording(spec), t);
        SessionDriver d(0, spec.client, 1);
        h.run(d);
        CHECK(d.outcome() == Outcome::Completed);
        CHECK(h.conn(spec.client).client_mss == 1460);
    }
    SECTION("IPv6") {
        SessionSpec spec = keep_alive();
        spec.client = ep("fd00::1", 40000);
        spec.server = ep("fd00::2", 8080);
        Harness h(make_recording(spec), target_for(spec));
        SessionDriver d(0, ep("fd00::77", 1234), 0xfffffffbu);
        h.run(d);
        CHECK(d.outcome() == Outcome::Completed);
        CHECK(h.target.errors().empty());
        CHECK(h.conn(ep("fd00::77", 1234)).received == h.stream());
    }
}

TEST_CASE("abort sends RST and counts the session aborted", "[replay][driver]") {
    SessionSpec spec = keep_alive();
    auto t = target_for(spec);
    t.silent_after_request = 0;
    Harness h(make_recording(spec), t);
    SessionDriver d(0, spec.client, 1);
    h.target.set_now(h.now);
    d.start(h.env, h.now);
    for (const auto& r : h.target.take_reports(h.now + 10 * kMs)) {
        d.on_report(h.env, r, h.now + 10 * kMs);
    }
    d.flush(h.env, h.now + 10 * kMs);  // handshake done: request 1 leaves, the target is silent
    d.abort(h.env, h.now + 20 * kMs, Outcome::Aborted);
    CHECK(d.outcome() == Outcome::Aborted);
    CHECK(h.counters.sessions_aborted == 1);
    CHECK(h.conn(spec.client).got_rst);
    CHECK(h.counters.requests_sent == 1);
    CHECK(d.deadline_in(h.env) == std::numeric_limits<uint64_t>::max());
}

TEST_CASE("a built recording replays against the fake target (builder -> driver)",
          "[replay][driver][builder]") {
    test::ConversationSpec conv;
    conv.mss = 30'000;  // TSO capture
    conv.zero_checksums = true;
    const auto r1 = test::http_request("/first");
    test::Bytes post = test::to_bytes("POST /p HTTP/1.1\r\nContent-Length: 25000\r\n\r\n");
    post.resize(post.size() + 25'000, 'x');
    conv.exchanges = {{r1, test::http_response(3000), 0},
                      {post, test::http_response(100), 5 * kMs}};
    SessionBuilder b;
    for (const auto& r : test::make_conversation(conv)) {
        b.add_frame(1, r.ts_ns, r.bytes);
    }
    Recording rec = b.finish();
    REQUIRE(rec.sessions.size() == 1);
    const auto reqs = rec.requests_of(rec.sessions[0]);
    REQUIRE(reqs.size() == 2);
    test::FakeTargetConfig t;
    t.address = rec.sessions[0].server;
    t.request_lengths = {reqs[0].length, reqs[1].length};
    t.response_lengths = {reqs[0].response_len, reqs[1].response_len};
    Harness h(std::move(rec), t);
    const net::Endpoint client = ep("10.0.0.1", 47000);
    SessionDriver d(0, client, 0xfffffffeu);
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.target.errors().empty());
    CHECK(h.conn(client).received == h.stream());
    CHECK(h.conn(client).max_segment_seen <= 1460);
    CHECK(h.counters.status_match == 2);
}

TEST_CASE("the per-session driver state stays within the memory budget", "[replay][driver]") {
    // Budget: 512 bytes of replayer state per active session, including its entry in the
    // run loop's tables (a hash-map node keyed by the client endpoint, a timer-heap entry).
    constexpr size_t kTableOverhead = 20 + 8 + 16 + 24;  // key + next + hash + heap entry
    STATIC_REQUIRE(sizeof(SessionDriver) + kTableOverhead <= 512);
    // 160 bytes before the comparison per endpoint, which keeps 32 more per session: the
    // request's endpoint, when its last byte left, its answer's first- and last-byte latency,
    // the loop (copies vote together) and a pointer to the answer's digest (allocated only
    // when bodies are compared).
    CHECK(sizeof(SessionDriver) <= 192);
}

}  // namespace tcpr::replay

namespace tcpr::replay {

TEST_CASE("merged reports (intercept's kFeatureMerge) drive a copy as the segments would",
          "[replay][driver]") {
    SessionSpec spec;
    spec.requests = {120, 80, 200};
    spec.responses = {64 * 1024, 100, 8 * 1024};
    spec.thinks = {0, 5 * kMs, 5 * kMs};
    Harness h(make_recording(spec), target_for(spec));
    h.merge = true;
    const net::Endpoint client = ep("10.0.0.1", 47000);
    SessionDriver d(0, client, 0x12345678u);
    h.run(d);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.target.errors().empty());
    CHECK(h.conn(client).received == h.stream());
    CHECK(h.counters.responses_complete == 3);
    CHECK(h.counters.status_match == 3);
    CHECK(h.counters.response_bytes == 64 * 1024 + 100 + 8 * 1024);
    CHECK(h.counters.retransmissions == 0);
    CHECK(h.reports_delivered < h.reports_seen / 2);  // the answers' segments came merged
}

}  // namespace tcpr::replay
