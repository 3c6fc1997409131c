#include "replayer/transport/socket_transport.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "common/base/log.h"
#include "replayer/schedule/scheduler.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

}  // namespace

SocketTransport::SocketTransport(const Recording& recording, SocketTransportOptions options,
                                 DiffWriter* diff)
    : rec_(recording),
      opt_(std::move(options)),
      diff_(diff),
      dialer_(opt_.target),
      votes_(opt_.copies, opt_.noise) {
    counters_.endpoints = EndpointTable(opt_.endpoints);
    buffer_.resize(64u << 10);
}

SocketTransport::~SocketTransport() = default;

void SocketTransport::attach(os::Epoll& epoll) { epoll_ = &epoll; }

RecordedRequest SocketTransport::request_at(const Slot& s, uint32_t index) const {
    if (opt_.feed != nullptr) {
        return opt_.feed->request(s.session, index);
    }
    return rec_.requests_of(rs(s))[index];
}

// The answer to the current request can no longer grow: the session is over, or the live
// client already began the next request.
bool SocketTransport::answer_final(const Slot& s) const {
    return !rs(s).open || s.req + 1 < rs(s).request_count;
}

uint64_t SocketTransport::tag_of(uint32_t id) const {
    return kFirstTag + ((uint64_t{slots_[id].gen} << 32) | id);
}

void SocketTransport::watch(uint32_t id, uint32_t interest) {
    Slot& s = slots_[id];
    if (epoll_ == nullptr || !s.socket || interest == s.interest) {
        return;
    }
    if (s.interest == 0) {
        epoll_->add(s.socket->fd(), interest, tag_of(id));
    } else if (interest == 0) {
        epoll_->remove(s.socket->fd());
    } else {
        epoll_->modify(s.socket->fd(), interest, tag_of(id));
    }
    s.interest = interest;
}

void SocketTransport::note_error(int error) {
    if (std::find(errors_seen_.begin(), errors_seen_.end(), error) != errors_seen_.end()) {
        return;
    }
    errors_seen_.push_back(error);
    log::warn("connection to %s: %s (counted; further ones are only counted)",
              opt_.target.to_string().c_str(), std::strerror(error));
}

// ---- start and connect ----------------------------------------------------------------------

bool SocketTransport::start(const StartEvent& e, uint64_t /*due_ns*/, uint64_t now_ns) {
    os::TargetDialer::Dial d = dialer_.dial();
    if (d.status == os::TargetDialer::Status::NoResource) {
        // No local port or descriptor now (ports in TIME_WAIT, descriptor limit): the run
        // loop tries again shortly, as raw replay does for a busy client endpoint.
        ++counters_.endpoint_waits;
        if (no_resource_since_ == 0) {
            no_resource_since_ = now_ns;
            log::warn(
                "cannot open a connection to %s now: %s; starts are delayed until "
                "connections end",
                opt_.target.to_string().c_str(), std::strerror(d.error));
        }
        return false;
    }
    no_resource_since_ = 0;
    uint32_t id;
    if (!free_.empty()) {
        id = free_.back();
        free_.pop_back();
    } else {
        id = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
    }
    Slot& s = slots_[id];
    const uint32_t gen = s.gen + 1;
    s = Slot{};
    s.gen = gen;
    s.session = e.session;
    s.copy = e.copy;
    s.loop = e.loop;
    s.connect_at = now_ns;
    s.last_progress = now_ns;
    s.heap_at = kNever;
    s.live = true;
    if (opt_.feed != nullptr) {
        by_session_[e.session].push_back(id);
    }
    ++active_;
    ++counters_.sessions_started;
    if (d.status == os::TargetDialer::Status::Failed) {
        connect_failed(id, d.error);
        return true;
    }
    ++opened_;
    s.socket = std::move(d.socket);
    s.local = s.socket->local_endpoint();
    if (d.status == os::TargetDialer::Status::Connected) {
        connected(id, now_ns);
    } else {
        s.phase = Phase::Connecting;
        watch(id, os::Epoll::kWritable);
        schedule(id);
    }
    return true;
}

void SocketTransport::connected(uint32_t id, uint64_t now) {
    Slot& s = slots_[id];
    s.rtt_ns = now - s.connect_at;
    s.last_progress = now;
    s.req = 0;
    if (rs(s).request_count == 0 && rs(s).open) {
        s.phase = Phase::Think;  // live: the client has not begun its first request yet
        s.phase_at = now;
    } else if (rs(s).request_count == 0) {
        s.phase = Phase::CloseThink;
        s.phase_at = now + scale_time(rs(s).close_think_ns, opt_.speed_milli);
    } else {
        s.phase = Phase::Think;
        s.phase_at = now + scale_time(request(s).think_ns, opt_.speed_milli);
    }
    watch(id, os::Epoll::kReadable);
    pump(id, now);
    if (slots_[id].live) {
        schedule(id);
    }
}

void SocketTransport::connect_failed(uint32_t id, int error) {
    switch (error) {
        case ECONNREFUSED:
            ++counters_.connect_refused;
            finish(id, Outcome::ResetByTarget);
            return;
        case ETIMEDOUT:
            ++counters_.connect_timed_out;
            finish(id, Outcome::TimedOut);
            return;
        default:
            note_error(error);
            finish(id, Outcome::Aborted, true);
            return;
    }
}

void SocketTransport::close_session(uint32_t id, uint64_t now) {
    check_response(id);
    Slot& s = slots_[id];
    if (rs(s).close == CloseKind::Rst || s.eof) {
        // As recorded (RST), or the target closed first: close now (finish() resets or closes).
        finish(id, Outcome::Completed);
        return;
    }
    s.socket->shutdown_write();
    s.phase = Phase::FinWait;
    s.phase_at = now + std::min(opt_.fin_wait_ns, opt_.timeout_ns);
    s.last_progress = now;
}

void SocketTransport::connection_error(uint32_t id, int error) {
    Slot& s = slots_[id];
    const bool closing = s.phase == Phase::CloseThink || s.phase == Phase::FinWait;
    switch (error) {
        case ECONNRESET:
        case EPIPE:
            finish(id, closing ? Outcome::Completed : Outcome::ResetByTarget);
            return;
        case ETIMEDOUT:
            finish(id, Outcome::TimedOut);
            return;
        default:
            note_error(error);
            finish(id, Outcome::Aborted, true);
            return;
    }
}

// Ends the session: counts its outcome (a connection error other than a reset or a timeout is
// counted apart, as sessions_conn_error), closes its socket and frees its slot. The socket is
// closed with FIN only when the session completed and the target closed its side too (or
// closed first); otherwise with RST, so the target keeps nothing half-open.
void SocketTransport::finish(uint32_t id, Outcome outcome, bool conn_error) {
    Slot& s = slots_[id];
    if (!s.live) {
        return;
    }
    check_response(id);
    const uint32_t count = rs(s).request_count;
    if (outcome != Outcome::Completed && s.req < count) {
        // The current request was sent if we were waiting for its answer.
        const uint32_t released = s.phase == Phase::Request ? 1 : 0;
        counters_.requests_unsent += count - s.req - released;
    }
    if (conn_error) {
        ++counters_.sessions_conn_error;
    } else {
        switch (outcome) {
            case Outcome::Completed:
                ++counters_.sessions_completed;
                break;
            case Outcome::ResetByTarget:
                ++counters_.sessions_reset;
                break;
            case Outcome::TimedOut:
                ++counters_.sessions_timed_out;
                break;
            case Outcome::Aborted:
                ++counters_.sessions_aborted;
                break;
            case Outcome::Running:
                break;
        }
    }
    if (s.socket) {
        watch(id, 0);
        if (outcome == Outcome::Completed && rs(s).close != CloseKind::Rst && s.eof) {
            s.socket->close();
        } else {
            s.socket->reset();
        }
        s.socket.reset();
    }
    s.live = false;
    free_.push_back(id);
    --active_;
    if (opt_.feed != nullptr) {
        auto it = by_session_.find(s.session);
        if (it != by_session_.end()) {
            std::erase(it->second, id);
            if (it->second.empty()) {
                by_session_.erase(it);
            }
        }
        opt_.feed->copy_ended(s.session, s.req);
    }
}

CopyProgress SocketTransport::wake(uint32_t session, uint64_t now_ns) {
    CopyProgress p;
    auto it = by_session_.find(session);
    if (it == by_session_.end()) {
        return p;
    }
    // finish() edits the list: walk a copy.
    touched_.assign(it->second.begin(), it->second.end());
    p.min_request = UINT32_MAX;
    p.min_acked = UINT32_MAX;
    for (uint32_t id : touched_) {
        if (!slots_[id].live) {
            continue;
        }
        if (slots_[id].phase != Phase::Connecting) {
            pump(id, now_ns);
            if (!slots_[id].live) {
                continue;
            }
            schedule(id);
        }
        const Slot& s = slots_[id];
        ++p.copies;
        // An answered request not yet compared keeps its request and bytes (--diff).
        p.min_request = std::min(p.min_request, s.unchecked ? s.answered : s.req);
        p.min_acked =
            std::min(p.min_acked, s.unchecked ? std::min(s.sent_off, s.keep_from) : s.sent_off);
    }
    touched_.clear();
    if (p.copies == 0) {
        p.min_request = 0;
        p.min_acked = 0;
    }
    return p;
}

// ---- events and timers ----------------------------------------------------------------------

void SocketTransport::on_event(const os::Epoll::Event& event, uint64_t now_ns) {
    if (event.tag < kFirstTag) {
        return;
    }
    const uint64_t v = event.tag - kFirstTag;
    const auto id = static_cast<uint32_t>(v & 0xffffffffu);
    const auto gen = static_cast<uint32_t>(v >> 32);
    if (id >= slots_.size() || !slots_[id].live || slots_[id].gen != gen) {
        return;  // stale: the session ended earlier in this batch
    }
    Slot& s = slots_[id];
    if (s.phase == Phase::Connecting) {
        if (!(event.writable || event.hangup)) {
            return;
        }
        const int err = s.socket->connect_result();
        if (err == EINPROGRESS) {
            return;
        }
        if (err != 0) {
            connect_failed(id, err);
            return;
        }
        connected(id, now_ns);
        return;
    }
    if (event.readable || event.hangup) {
        read_input(id, now_ns);
    }
    if (slots_[id].live && event.writable && slots_[id].phase == Phase::Request) {
        write_request(id, now_ns);
    }
    if (slots_[id].live) {
        pump(id, now_ns);
    }
    if (slots_[id].live) {
        schedule(id);
    }
}

uint64_t SocketTransport::deadline(const Slot& s) const {
    if (!s.live) {
        return kNever;
    }
    const uint64_t timeout = s.last_progress + opt_.timeout_ns;
    switch (s.phase) {
        case Phase::Connecting:
            return timeout;
        case Phase::Think:
            if (s.req >= rs(s).request_count && rs(s).open) {
                return kNever;  // live: woken by wake() when the client begins a request
            }
            return s.phase_at;
        case Phase::CloseThink:
            return s.phase_at;
        case Phase::Request: {
            if (s.idle) {
                return kNever;  // live: waiting on the live client (wake())
            }
            const RecordedRequest r = request(s);
            if (s.written >= r.length && s.received > 0 && s.received < r.response_len) {
                return std::min(timeout, s.last_data_at + quiet_ns(s));
            }
            if (s.written >= r.length && r.response_len > 0 && s.received >= r.response_len &&
                answer_final(s)) {
                return std::min(timeout, s.last_data_at + settle_ns(s));
            }
            return timeout;
        }
        case Phase::FinWait:
            return s.phase_at;  // fin-wait, bounded by the timeout (close_session)
    }
    return timeout;
}

void SocketTransport::schedule(uint32_t id) {
    Slot& s = slots_[id];
    if (!s.live) {
        return;
    }
    const uint64_t d = deadline(s);
    if (d < s.heap_at) {
        s.heap_at = d;
        timers_.push({d, id, s.gen});
    }
}

void SocketTransport::on_timer(uint64_t now_ns) {
    // Take every due entry first: a slot re-scheduled below never runs twice in one call.
    due_.clear();
    while (!timers_.empty() && timers_.top().at <= now_ns) {
        due_.push_back(timers_.top());
        timers_.pop();
    }
    for (const TimerEntry& e : due_) {
        Slot& s = slots_[e.slot];
        if (!s.live || s.gen != e.gen || e.at != s.heap_at) {
            continue;  // stale entry
        }
        s.heap_at = kNever;
        if (s.phase == Phase::Request || s.phase == Phase::FinWait) {
            // Take what arrived first: if this process itself was not scheduled for a while,
            // bytes waiting in the socket are not a quiet target.
            read_input(e.slot, now_ns);
            if (!slots_[e.slot].live) {
                continue;
            }
        }
        const bool waiting = s.phase == Phase::Connecting || (s.phase == Phase::Request && !s.idle);
        if (waiting && now_ns >= s.last_progress + opt_.timeout_ns) {
            if (s.phase == Phase::Connecting) {
                ++counters_.connect_timed_out;
            }
            finish(e.slot, Outcome::TimedOut);
            continue;
        }
        pump(e.slot, now_ns);
        schedule(e.slot);
    }
}

void SocketTransport::flush(uint64_t /*now_ns*/) {
    if (active() == 0 && !votes_.empty()) {
        // No copy is running: no other copy's answer can come now.
        votes_.settle(counters_);
    }
}

uint64_t SocketTransport::next_deadline() const {
    return timers_.empty() ? kNever : timers_.top().at;
}

void SocketTransport::abort_all(uint64_t /*now_ns*/) {
    for (uint32_t id = 0; id < slots_.size(); ++id) {
        if (slots_[id].live) {
            finish(id, Outcome::Aborted);
        }
    }
}

std::string SocketTransport::health() const {
    if (no_resource_since_ != 0) {
        return "waiting for free local ports/descriptors";
    }
    return {};
}

}  // namespace tcpr::replay
