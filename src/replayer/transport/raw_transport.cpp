#include "replayer/transport/raw_transport.h"

#include <algorithm>
#include <ctime>
#include <limits>

#include "common/base/hash.h"
#include "common/base/log.h"

namespace tcpr::replay {
namespace {
constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kInterceptTag = Transport::kFirstTag;
constexpr uint64_t kMaxWait = 10'000'000'000;  // a report's wait in intercept beyond: a clock jump
}  // namespace

RawTransport::RawTransport(const Recording& recording, RawTransportOptions options,
                           std::unique_ptr<net::PacketSink> sink,
                           std::unique_ptr<InterceptClient> intercept)
    : rec_(recording),
      opt_(std::move(options)),
      sink_(std::move(sink)),
      intercept_(std::move(intercept)),
      env_{rec_, opt_.driver, *sink_, counters_, {}, 1},
      endpoints_(opt_.endpoints),
      votes_(opt_.copies, opt_.driver.noise) {
    env_.scratch.reserve(65536 + 128);
    env_.feed = opt_.feed;
    env_.votes = &votes_;
    counters_.endpoints = EndpointTable(opt_.driver.endpoints);
    env_.requests = opt_.requests;
    // Bodies are compared when intercept forwards the answers' payloads (protocol version 2).
    opt_.driver.compare_bodies =
        opt_.driver.compare && (intercept_->features() & wire::kFeaturePayload) != 0;
}

RawTransport::~RawTransport() { send_queued(); }

// RFC 6528: a clock that advances every 4 us plus a hash of the tuple. The hash's key is fixed
// (not secret: a test tool), so a later run's ISN on the same tuple is ahead of an earlier
// run's by the time between them; a target that still holds the earlier connection in
// TIME_WAIT accepts a SYN beyond that connection's last sequence number (RFC 6191), as it
// does for a kernel client reusing its port. Where it still refuses (the earlier connection
// sent more than 250 kB per second since), the driver resets the old connection and retries.
uint32_t RawTransport::next_isn(const net::Endpoint& client) const {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const uint64_t ticks =
        (static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec)) /
        4000u;
    const uint64_t key = net::FlowKeyHash{}(net::FlowKey::of(client, opt_.driver.target));
    return static_cast<uint32_t>(ticks + mix64(key ^ opt_.isn_seed));
}

wire::Tuple RawTransport::tuple_of(const Slot& s) const {
    return wire::Tuple{s.driver.client(), opt_.driver.target};
}

void RawTransport::attach(os::Epoll& epoll) {
    epoll_ = &epoll;
    if (intercept_->connected()) {
        watched_fd_ = intercept_->fd();
        watched_interest_ = os::Epoll::kReadable;
        epoll_->add(watched_fd_, watched_interest_, kInterceptTag);
    }
}

bool RawTransport::start(const StartEvent& e, uint64_t due_ns, uint64_t now_ns) {
    const RecordedSession& rs = rec_.sessions.at(e.session);
    const auto client = endpoints_.allocate(rs.client, e.copy, e.loop, opt_.copies, now_ns);
    if (!client) {
        ++counters_.endpoint_waits;
        return false;
    }
    uint32_t id;
    if (!free_.empty()) {
        id = free_.back();
        free_.pop_back();
    } else {
        id = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
    }
    Slot& s = slots_[id];
    s.driver = SessionDriver(e.session, *client, next_isn(*client));
    s.driver.set_loop(e.loop);
    s.start_at = due_ns;
    s.give_up_at = std::max(due_ns, now_ns) + opt_.driver.timeout_ns;
    s.last_report = now_ns;
    s.heap_at = kNever;
    s.echo = 0;
    ++s.gen;
    s.started = false;
    s.live = true;
    by_client_[*client] = id;
    if (opt_.feed != nullptr) {
        by_session_[e.session].push_back(id);
    }
    ++active_;
    if (intercept_->connected()) {
        to_register_.push_back(tuple_of(s));
        batch_.emplace_back(id, s.gen);
    }
    awaiting_echo_.emplace_back(id, s.gen);
    schedule(id, now_ns);
    return true;
}

uint64_t RawTransport::slot_deadline(const Slot& s) const {
    if (!s.started) {
        const bool confirmed = s.echo != 0 && s.echo <= confirmed_;
        return confirmed ? s.start_at : s.give_up_at;
    }
    return s.driver.deadline_in(env_);
}

void RawTransport::schedule(uint32_t id, uint64_t /*now_ns*/) {
    Slot& s = slots_[id];
    if (!s.live) {
        return;
    }
    const uint64_t d = slot_deadline(s);
    if (d < s.heap_at) {
        s.heap_at = d;
        timers_.push({d, id, s.gen});
    }
}

bool RawTransport::intercept_trouble(uint64_t now_ns) const {
    return !intercept_->connected() ||
           (up_since_ != 0 && now_ns < up_since_ + opt_.driver.timeout_ns);
}

void RawTransport::run_slot(uint32_t id, uint64_t now_ns) {
    Slot& s = slots_[id];
    if (!s.started) {
        const bool confirmed = s.echo != 0 && s.echo <= confirmed_;
        if (confirmed && now_ns >= s.start_at) {
            s.started = true;
            s.last_report = now_ns;
            s.driver.start(env_, now_ns);
            if (opt_.driver.speed_milli != 0) {  // at max, no start has a time to keep
                counters_.start_lateness.record(s.start_at, now_ns);
            }
        } else if (now_ns >= s.give_up_at) {
            // Its registration was never confirmed: intercept is unreachable. No SYN was sent.
            ++counters_.sessions_started;
            s.driver.abort(env_, now_ns, Outcome::TimedOut);
            ++counters_.timed_out_intercept_down;
            retire(id, now_ns);
            return;
        }
    } else {
        s.driver.on_timer(env_, now_ns);
        if (s.driver.finished()) {
            if (s.driver.outcome() == Outcome::TimedOut && intercept_trouble(now_ns)) {
                ++counters_.timed_out_intercept_down;
            }
            retire(id, now_ns);
            return;
        }
    }
    schedule(id, now_ns);
}

void RawTransport::retire(uint32_t id, uint64_t now_ns, bool registered) {
    Slot& s = slots_[id];
    if (!s.live) {
        return;
    }
    s.live = false;
    const net::Endpoint client = s.driver.client();
    endpoints_.release(client, now_ns);
    by_client_.erase(client);
    if (intercept_->connected() && registered) {
        to_unregister_.push_back(wire::Tuple{client, opt_.driver.target});
    }
    free_.push_back(id);
    --active_;
    if (opt_.feed != nullptr) {
        const uint32_t session = s.driver.session();
        auto it = by_session_.find(session);
        if (it != by_session_.end()) {
            std::erase(it->second, id);
            if (it->second.empty()) {
                by_session_.erase(it);
            }
        }
        opt_.feed->copy_ended(session, s.driver.requests_done());
    }
}

CopyProgress RawTransport::wake(uint32_t session, uint64_t now_ns) {
    CopyProgress p;
    auto it = by_session_.find(session);
    if (it == by_session_.end()) {
        return p;
    }
    // retire() edits the list: walk a copy.
    touched_.assign(it->second.begin(), it->second.end());
    p.min_request = UINT32_MAX;
    p.min_acked = UINT32_MAX;
    for (uint32_t id : touched_) {
        Slot& s = slots_[id];
        if (!s.live) {
            continue;
        }
        if (s.started) {
            s.driver.flush(env_, now_ns);
            if (s.driver.finished()) {
                retire(id, now_ns);
                continue;
            }
            schedule(id, now_ns);
        }
        ++p.copies;
        p.min_request = std::min(p.min_request, s.driver.requests_done());
        p.min_acked = std::min(p.min_acked, s.driver.acked());
    }
    touched_.clear();
    if (p.copies == 0) {
        p.min_request = 0;
        p.min_acked = 0;
    }
    return p;
}

void RawTransport::on_timer(uint64_t now_ns) {
    if (!intercept_->connected() && intercept_->maybe_reconnect(now_ns)) {
        reconnected(now_ns);
    }
    while (!timers_.empty() && timers_.top().at <= now_ns) {
        const TimerEntry e = timers_.top();
        timers_.pop();
        Slot& s = slots_[e.slot];
        if (!s.live || s.gen != e.gen || e.at != s.heap_at) {
            continue;  // stale entry
        }
        s.heap_at = kNever;
        run_slot(e.slot, now_ns);
    }
    if (now_ns >= next_refresh_) {
        refresh(now_ns);
    }
}

void RawTransport::refresh(uint64_t now_ns) {
    next_refresh_ = now_ns + opt_.refresh_period_ns;
    if (!intercept_->connected()) {
        return;
    }
    const uint64_t idle = uint64_t{intercept_->expiry_seconds()} * 1'000'000'000ull / 2;
    for (Slot& s : slots_) {
        if (s.live && s.started && now_ns - s.last_report >= idle) {
            to_register_.push_back(tuple_of(s));
            s.last_report = now_ns;
        }
    }
}

void RawTransport::send_queued() {
    const net::SinkLosses l = sink_->flush();
    if (l.would_block + l.failed == 0) {
        return;
    }
    // send() counted them as sent.
    counters_.packets_sent -= l.would_block + l.failed;
    counters_.bytes_sent -= l.bytes;
    counters_.send_would_block += l.would_block;
    counters_.send_failed += l.failed;
}

void RawTransport::flush(uint64_t now_ns) {
    send_queued();
    if (active_ == 0 && !votes_.empty()) {
        votes_.settle(counters_);  // no copy is running: no other copy's answer can come
    }
    if (!intercept_->connected()) {
        to_register_.clear();
        to_unregister_.clear();
        batch_.clear();
        return;
    }
    if (!to_unregister_.empty()) {
        (void)intercept_->unregister_tuples(to_unregister_);
        to_unregister_.clear();
    }
    if (!to_register_.empty()) {
        if (intercept_->register_tuples(to_register_)) {
            if (const auto nonce = intercept_->ping()) {
                last_ping_ = now_ns;
                for (const auto& [id, gen] : batch_) {
                    Slot& s = slots_[id];
                    if (s.live && s.gen == gen && !s.started) {
                        s.echo = *nonce;
                    }
                }
            }
        }
        // A full output queue leaves echo at 0: those slots give up after the timeout.
        to_register_.clear();
        batch_.clear();
    } else if (now_ns >= last_ping_ + opt_.keepalive_ns) {
        (void)intercept_->ping();
        last_ping_ = now_ns;
    }
    if (!intercept_->write(now_ns)) {
        lost_intercept(now_ns);
        return;
    }
    const uint32_t interest =
        os::Epoll::kReadable | (intercept_->wants_write() ? os::Epoll::kWritable : 0u);
    if (epoll_ != nullptr && watched_fd_ >= 0 && interest != watched_interest_) {
        epoll_->modify(watched_fd_, interest, kInterceptTag);
        watched_interest_ = interest;
    }
}

void RawTransport::on_event(const os::Epoll::Event& event, uint64_t now_ns) {
    if (event.tag != kInterceptTag || !intercept_->connected()) {
        return;
    }
    if (event.readable || event.hangup) {
        inbox_.clear();
        const bool ok = intercept_->read(inbox_, now_ns);
        handle_messages(inbox_, now_ns);
        if (!ok) {
            lost_intercept(now_ns);
            return;
        }
    }
    if (event.writable && !intercept_->write(now_ns)) {
        lost_intercept(now_ns);
    }
}

void RawTransport::handle_messages(std::vector<wire::Message>& messages, uint64_t now_ns) {
    for (wire::Message& m : messages) {
        if (auto* reports = std::get_if<wire::Reports>(&m)) {
            on_reports(*reports, now_ns);
        } else if (auto* ping = std::get_if<wire::Ping>(&m)) {
            confirm(ping->nonce, now_ns);
        } else if (auto* refused = std::get_if<wire::Refused>(&m)) {
            on_refused(*refused, now_ns);
        }
    }
}

void RawTransport::on_refused(const wire::Refused& refused, uint64_t now_ns) {
    // Another replayer holds these tuples: their copies cannot get their answers. A copy not
    // started yet sends nothing; one started (a refresh refused after intercept expired our
    // registration) is reset. Either way it fails, counted apart.
    for (const wire::Tuple& t : refused.tuples) {
        if (t.server != opt_.driver.target) {
            continue;
        }
        const auto it = by_client_.find(t.client);
        if (it == by_client_.end()) {
            continue;
        }
        const uint32_t id = it->second;
        Slot& s = slots_[id];
        if (!s.live) {
            continue;
        }
        if (counters_.sessions_refused_tuple_held == 0) {
            log::warn(
                "intercept refused the registration of %s -> %s: another replayer holds that "
                "tuple (its session copies fail; counted as 'tuple held by another replayer')",
                t.client.to_string().c_str(), t.server.to_string().c_str());
        }
        if (!s.started) {
            ++counters_.sessions_started;
        }
        ++counters_.sessions_refused_tuple_held;
        s.driver.abort(env_, now_ns, Outcome::Aborted);
        retire(id, now_ns, /*registered=*/false);
    }
}

void RawTransport::on_reports(const wire::Reports& reports, uint64_t now_ns) {
    for (const wire::Report& r : reports.reports) {
        // How long the report waited in intercept (capture to frame: its batching), on
        // intercept's clock: the target sent it that much before now (0: not known, or
        // implausible).
        const uint64_t waited = reports.sent_ns >= r.ts_ns && reports.sent_ns - r.ts_ns < kMaxWait
                                    ? reports.sent_ns - r.ts_ns
                                    : 0;
        ++counters_.reports;
        auto it = r.tuple.server == opt_.driver.target ? by_client_.find(r.tuple.client)
                                                       : by_client_.end();
        if (it == by_client_.end() || !slots_[it->second].started) {
            ++counters_.reports_unmatched;
            continue;
        }
        Slot& s = slots_[it->second];
        s.last_report = now_ns;
        s.driver.on_report(env_, r, now_ns, now_ns > waited ? now_ns - waited : now_ns);
        touched_.push_back(it->second);
    }
    for (uint32_t id : touched_) {
        Slot& s = slots_[id];
        if (!s.live) {
            continue;
        }
        s.driver.flush(env_, now_ns);
        if (s.driver.finished()) {
            retire(id, now_ns);
        } else {
            schedule(id, now_ns);
        }
    }
    touched_.clear();
}

void RawTransport::confirm(uint64_t nonce, uint64_t now_ns) {
    confirmed_ = std::max(confirmed_, nonce);
    while (!awaiting_echo_.empty()) {
        const auto [id, gen] = awaiting_echo_.front();
        Slot& s = slots_[id];
        if (!s.live || s.gen != gen || s.started) {
            awaiting_echo_.pop_front();
            continue;
        }
        if (s.echo == 0 || s.echo > confirmed_) {
            break;
        }
        awaiting_echo_.pop_front();
        schedule(id, now_ns);
        if (s.start_at <= now_ns) {
            s.heap_at = kNever;
            run_slot(id, now_ns);  // due already: send the SYN now
        }
    }
}

void RawTransport::lost_intercept(uint64_t now_ns) {
    if (intercept_->connected()) {
        intercept_->disconnect("write failed", now_ns);
    }
    if (epoll_ != nullptr && watched_fd_ >= 0) {
        epoll_->remove(watched_fd_);
    }
    watched_fd_ = -1;
    watched_interest_ = 0;
    down_since_ = now_ns;
    ++counters_.intercept_disconnects;
    log::warn(
        "lost the connection to intercept (%s): reconnecting; sessions waiting on it "
        "time out after --timeout",
        intercept_->last_error().c_str());
}

void RawTransport::reconnected(uint64_t now_ns) {
    ++counters_.intercept_reconnects;
    up_since_ = now_ns;
    log::info("reconnected to intercept after %.1f s",
              static_cast<double>(now_ns - down_since_) / 1e9);
    if (epoll_ != nullptr) {
        watched_fd_ = intercept_->fd();
        watched_interest_ = os::Epoll::kReadable;
        epoll_->add(watched_fd_, watched_interest_, kInterceptTag);
    }
    // Intercept forgot our registrations with the old connection: register every live tuple.
    to_register_.clear();
    batch_.clear();
    for (uint32_t id = 0; id < slots_.size(); ++id) {
        Slot& s = slots_[id];
        if (!s.live) {
            continue;
        }
        to_register_.push_back(tuple_of(s));
        if (!s.started) {
            s.echo = 0;
            batch_.emplace_back(id, s.gen);
        }
    }
}

uint64_t RawTransport::next_deadline() const {
    uint64_t d = next_refresh_;
    if (!timers_.empty()) {
        d = std::min(d, timers_.top().at);
    }
    if (!intercept_->connected()) {
        d = std::min(d, intercept_->next_attempt_ns());
    } else {
        d = std::min(d, last_ping_ + opt_.keepalive_ns);
    }
    return d;
}

void RawTransport::abort_all(uint64_t now_ns) {
    for (uint32_t id = 0; id < slots_.size(); ++id) {
        Slot& s = slots_[id];
        if (!s.live) {
            continue;
        }
        if (!s.started) {
            ++counters_.sessions_started;
        }
        s.driver.abort(env_, now_ns, Outcome::Aborted);
        retire(id, now_ns);
    }
    flush(now_ns);
}

std::string RawTransport::health() const {
    if (intercept_->connected()) {
        return {};
    }
    return "intercept unreachable (" + intercept_->last_error() + "), reconnecting";
}

}  // namespace tcpr::replay
