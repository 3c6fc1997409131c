// Raw replay (tcpcopy's method): each session copy is a SessionDriver with its own client
// endpoint; packets leave through a PacketSink (raw socket or pcap_inject) and the target's
// answers come back as intercept reports, routed to drivers by client endpoint.
// Before a copy's SYN its tuple is registered with intercept and confirmed by a Ping echo, so
// the SYN-ACK report is never lost to a race; registrations idle for half the intercept's
// expiry are refreshed; after a reconnect every live tuple is registered again.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <queue>
#include <unordered_map>
#include <vector>

#include "common/net/packet_sink.h"
#include "replayer/schedule/endpoints.h"
#include "replayer/sessions/recording.h"
#include "replayer/transport/intercept_client.h"
#include "replayer/transport/session_driver.h"
#include "replayer/transport/transport.h"

namespace tcpr::replay {

struct RawTransportOptions {
    DriverConfig driver;
    EndpointOptions endpoints;
    uint32_t copies = 1;                     // copies per loop (endpoint allocation)
    uint64_t register_lead_ns = 50'000'000;  // register this long before the SYN is due
    uint64_t refresh_period_ns = 1'000'000'000;
    uint64_t keepalive_ns = 10'000'000'000;  // Ping an otherwise idle intercept connection
    uint64_t isn_seed = 0;                   // key of the ISN hash (next_isn)
    // Live passthrough: sessions that grow while replayed (session_feed.h); see wake().
    SessionFeed* feed = nullptr;
    RequestLog* requests = nullptr;  // --report requests FILE (with the comparison)
};

class RawTransport final : public Transport {
  public:
    // `intercept` must be connected (InterceptClient::connect()).
    RawTransport(const Recording& recording, RawTransportOptions options,
                 std::unique_ptr<net::PacketSink> sink, std::unique_ptr<InterceptClient> intercept);
    ~RawTransport() override;

    void attach(os::Epoll& epoll) override;
    uint64_t lead_ns() const override { return opt_.register_lead_ns; }
    bool start(const StartEvent& e, uint64_t due_ns, uint64_t now_ns) override;
    void on_event(const os::Epoll::Event& event, uint64_t now_ns) override;
    void on_timer(uint64_t now_ns) override;
    // Also sends the packets the sink queued in this event-loop turn.
    void flush(uint64_t now_ns) override;
    uint64_t next_deadline() const override;
    size_t active() const override { return active_; }
    void abort_all(uint64_t now_ns) override;
    const ReplayCounters& counters() const override { return counters_; }
    std::string health() const override;

    // Live passthrough (options.feed): see Transport::wake.
    CopyProgress wake(uint32_t session, uint64_t now_ns) override;

    // For tests and the report.
    const EndpointAllocator& endpoints() const { return endpoints_; }

  private:
    struct Slot {
        SessionDriver driver{0, {}, 0};
        uint64_t start_at = 0;     // when the SYN is due
        uint64_t give_up_at = 0;   // no confirmed registration by then: timed out
        uint64_t last_report = 0;  // for registration refreshes
        uint64_t heap_at = 0;      // earliest timer entry pushed for this slot
        uint64_t echo = 0;         // Ping nonce confirming its registration
        uint32_t gen = 0;
        bool started = false;
        bool live = false;
    };
    struct TimerEntry {
        uint64_t at;
        uint32_t slot;
        uint32_t gen;
        bool operator>(const TimerEntry& o) const { return at > o.at; }
    };

    void send_queued();  // the sink's batch, with its losses counted
    uint64_t slot_deadline(const Slot& s) const;
    void schedule(uint32_t slot, uint64_t now_ns);
    void run_slot(uint32_t slot, uint64_t now_ns);
    // `registered` false: intercept refused the tuple, so it is not unregistered (an
    // Unregister of a tuple another replayer holds is ignored by intercept anyway).
    void retire(uint32_t slot, uint64_t now_ns, bool registered = true);
    void on_refused(const wire::Refused& refused, uint64_t now_ns);
    void handle_messages(std::vector<wire::Message>& messages, uint64_t now_ns);
    void on_reports(const wire::Reports& reports, uint64_t now_ns);
    void confirm(uint64_t nonce, uint64_t now_ns);
    void lost_intercept(uint64_t now_ns);
    void reconnected(uint64_t now_ns);
    void refresh(uint64_t now_ns);
    uint32_t next_isn(const net::Endpoint& client) const;
    wire::Tuple tuple_of(const Slot& s) const;
    bool intercept_trouble(uint64_t now_ns) const;

    const Recording& rec_;
    RawTransportOptions opt_;
    std::unique_ptr<net::PacketSink> sink_;
    std::unique_ptr<InterceptClient> intercept_;
    ReplayCounters counters_;
    DriverEnv env_;
    EndpointAllocator endpoints_;
    AnswerVotes votes_;
    os::Epoll* epoll_ = nullptr;
    int watched_fd_ = -1;
    uint32_t watched_interest_ = 0;

    std::vector<Slot> slots_;
    std::vector<uint32_t> free_;
    std::unordered_map<net::Endpoint, uint32_t, net::EndpointHash> by_client_;
    std::unordered_map<uint32_t, std::vector<uint32_t>> by_session_;  // live only
    std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
    size_t active_ = 0;

    std::vector<wire::Tuple> to_register_, to_unregister_;
    std::vector<std::pair<uint32_t, uint32_t>> batch_;         // (slot, gen) in to_register_
    std::deque<std::pair<uint32_t, uint32_t>> awaiting_echo_;  // (slot, gen), in order
    uint64_t confirmed_ = 0;                                   // highest Ping nonce echoed
    uint64_t pending_nonce_ = 0;  // nonce the next Ping will carry (0 = none sent yet)
    uint64_t last_ping_ = 0, next_refresh_ = 0;
    uint64_t down_since_ = 0, up_since_ = 0;
    std::vector<uint32_t> touched_;
    std::vector<wire::Message> inbox_;
};

}  // namespace tcpr::replay
