// The session sources the run loop drives: the archive's ScheduleSource (due starts in order,
// the report's recorded position) and the LiveSource's queue of pending starts (a copy the
// transport cannot start is retried every 10 ms and given up after --timeout).
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "replayer/run/run_loop.h"
#include "replayer/source/live_source.h"
#include "replayer/source/schedule_source.h"
#include "support/packet_factory.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kMs = 1'000'000;

Recording three_sessions() {
    Recording rec;
    rec.first_ns = 1000 * kMs;
    rec.last_ns = 1100 * kMs;
    for (uint64_t at : {0, 10, 40}) {
        RecordedSession s;
        s.start_ns = rec.first_ns + at * kMs;
        s.end_ns = s.start_ns + kMs;
        rec.sessions.push_back(s);
    }
    return rec;
}

Scheduler scheduler_of(const Recording& rec, uint32_t copies, uint32_t loops) {
    std::vector<uint64_t> offsets;
    for (const auto& s : rec.sessions) {
        offsets.push_back(s.start_ns - rec.first_ns);
    }
    return Scheduler(offsets, rec.span_ns(), {1000, copies, loops, {}});
}

// A transport that never has a free client endpoint: every start() fails.
class NoEndpointTransport final : public Transport {
  public:
    void attach(os::Epoll&) override {}
    uint64_t lead_ns() const override { return 0; }
    bool start(const StartEvent& e, uint64_t, uint64_t now_ns) override {
        attempts.push_back({e.session, e.copy, now_ns});
        return false;
    }
    void on_event(const os::Epoll::Event&, uint64_t) override {}
    void on_timer(uint64_t) override {}
    void flush(uint64_t) override {}
    uint64_t next_deadline() const override { return kNever; }
    CopyProgress wake(uint32_t, uint64_t) override { return {}; }
    size_t active() const override { return 0; }
    void abort_all(uint64_t) override {}
    const ReplayCounters& counters() const override { return counters_; }
    std::string health() const override { return {}; }

    struct Attempt {
        uint32_t session, copy;
        uint64_t at;
    };
    std::vector<Attempt> attempts;

  private:
    ReplayCounters counters_;
};

// A capture holding one client SYN to the online port, then nothing.
class OneSynCapture final : public os::PacketSource {
  public:
    OneSynCapture() {
        test::TcpSpec t;
        t.src = "10.0.0.1";
        t.dst = "10.0.0.2";
        t.sport = 40000;
        t.dport = 80;
        t.seq = 1000;
        t.flags = net::tcp_flags::kSyn;
        frame_ = test::make_tcp(t);
    }
    Status next(os::CapturedPacket& out) override {
        if (given_) {
            return Status::Timeout;
        }
        given_ = true;
        out.ts_ns = 1'700'000'000'000'000'000ull;
        out.orig_len = static_cast<uint32_t>(frame_.size());
        out.bytes = frame_;
        return Status::Packet;
    }
    uint32_t link_type() const override { return 1; }  // LINKTYPE_ETHERNET
    uint32_t snaplen() const override { return 65535; }
    os::CaptureCounters counters() const override { return {}; }
    std::string describe() const override { return "one SYN"; }

  private:
    test::Bytes frame_;
    bool given_ = false;
};

}  // namespace

TEST_CASE("the schedule source yields each copy at the run's start plus its due time, in order",
          "[source][scheduler]") {
    const Recording rec = three_sessions();
    Scheduler sched = scheduler_of(rec, 2, 2);
    ScheduleSource source(rec, sched);
    os::Epoll epoll = os::Epoll::create();
    const uint64_t t0 = 5'000 * kMs;
    source.begin(epoll, t0);
    CHECK(sched.total() == 12);

    std::vector<std::pair<uint32_t, uint64_t>> got;  // session, due
    uint64_t last_due = 0;
    while (const auto s = source.next_start(0)) {
        CHECK(s->give_up_at == kNever);  // an archive copy is retried, never given up
        CHECK(s->due_ns >= last_due);
        CHECK(s->due_ns == t0 + s->event.due_ns);
        last_due = s->due_ns;
        got.push_back({s->event.session, s->due_ns});
        source.started();
    }
    CHECK(source.done());
    REQUIRE(got.size() == 12);
    CHECK(got[0] == std::make_pair(0u, t0));
    CHECK(got[2] == std::make_pair(1u, t0 + 10 * kMs));
    CHECK(got[4] == std::make_pair(2u, t0 + 40 * kMs));
    CHECK(got[6] == std::make_pair(0u, t0 + 100 * kMs));  // the second loop: one span later
    // The last copy started: the third session of the second loop, in recorded time.
    CHECK(source.recorded_pos_ns() == 140 * kMs);

    RunSummary s;
    s.loops = 2;
    source.summarize(s);
    CHECK(s.recorded_ns == 200 * kMs);  // not stopped early: the span x loops
    CHECK(s.counters.sessions_planned == 12);
    CHECK(s.sessions_in_recording == 3);
    s = RunSummary{};
    s.stop_reason = "signal";
    source.summarize(s);
    CHECK(s.recorded_ns == 140 * kMs);  // stopped early: as far as the last start
}

TEST_CASE("a live copy without a free client endpoint is retried every 10 ms, then given up",
          "[source][live]") {
    LiveConfig lc;
    lc.server_port = 80;
    lc.copies = 2;
    LiveSourceOptions so;
    so.copies = 2;
    so.give_up_ns = 40 * kMs;
    so.duration_ns = 100 * kMs;
    so.drain_ns = 0;
    LiveSource source(std::make_unique<OneSynCapture>(), lc, so, nullptr);
    NoEndpointTransport transport;
    RunLoopOptions lo;
    lo.max_active = kNever;
    lo.abort_on_signal = false;
    lo.progress = false;
    const RunResult run = run_loop(source, transport, lo);

    CHECK(run.stop_reason == "duration");
    CHECK(source.sessions().stats().sessions == 1);
    CHECK(source.sessions().stats().copies_not_started == 2);
    // Only the first copy in the queue is tried, no more than every 10 ms, until both expire.
    REQUIRE(transport.attempts.size() >= 2);
    CHECK(transport.attempts.size() <= 6);
    for (size_t i = 0; i < transport.attempts.size(); ++i) {
        CHECK(transport.attempts[i].copy == 0);
        if (i > 0) {
            CHECK(transport.attempts[i].at - transport.attempts[i - 1].at >= 10 * kMs);
        }
    }
    RunSummary s;
    source.summarize(s);
    CHECK(s.counters.sessions_planned == 2);
}

}  // namespace tcpr::replay
