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
    : rec_(recording), opt_(std::move(options)), diff_(diff), dialer_(opt_.target) {
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

// ---- requests and answers -------------------------------------------------------------------

uint64_t SocketTransport::quiet_ns(const Slot& s) const {
    uint64_t rtt = std::max(rs(s).rtt_ns, s.rtt_ns);
    if (rtt == 0) {
        rtt = opt_.default_rtt_ns;
    }
    const uint64_t rto = opt_.quiet_use_rto ? s.rto_ns : 0;
    return std::clamp(std::max(rtt * opt_.quiet_rtt_factor, rto), opt_.quiet_min_ns,
                      opt_.quiet_max_ns);
}

uint64_t SocketTransport::settle_ns(const Slot& s) const {
    const uint64_t rtt = s.rtt_ns != 0 ? s.rtt_ns : opt_.default_rtt_ns;
    return std::min(std::max(opt_.settle_min_ns, 2 * rtt), quiet_ns(s));
}

void SocketTransport::release_request(uint32_t id, uint64_t now) {
    check_response(id);  // the previous answer, with any bytes that came late
    Slot& s = slots_[id];
    const RecordedRequest r = request(s);
    s.phase = Phase::Request;
    s.written = 0;
    s.received = 0;
    s.head_len = 0;
    s.idle = false;
    s.last_progress = now;
    s.last_data_at = now;
    if (r.length > 0) {
        ++counters_.requests_sent;
    }
    write_request(id, now);
}

void SocketTransport::write_request(uint32_t id, uint64_t now) {
    Slot& s = slots_[id];
    const RecordedRequest r = request(s);
    while (s.written < r.length) {
        const uint32_t off = r.begin + s.written;
        const uint32_t len = r.length - s.written;
        const std::span<const uint8_t> bytes = opt_.feed != nullptr
                                                   ? opt_.feed->bytes(s.session, off, len)
                                                   : rec_.stream(rs(s)).subspan(off, len);
        const os::IoResult w = s.socket->send(bytes);
        if (w.state == os::IoState::WouldBlock) {
            break;
        }
        if (w.state == os::IoState::Error) {
            connection_error(id, w.error);
            return;
        }
        s.written += static_cast<uint32_t>(w.bytes);
        s.sent_off = r.begin + s.written;
        counters_.payload_bytes_sent += w.bytes;
        counters_.bytes_sent += w.bytes;
        s.last_progress = now;
    }
    const bool more = s.written < r.length;
    s.want_write = more;
    if (!more) {
        s.last_data_at = std::max(s.last_data_at, now);  // quiet counts from the last byte
        if (opt_.quiet_use_rto) {
            s.rto_ns = s.socket->retransmit_timeout_ns();
        }
    }
    watch(id, os::Epoll::kReadable | (more ? os::Epoll::kWritable : 0u));
}

void SocketTransport::read_input(uint32_t id, uint64_t now) {
    size_t total = 0;
    while (slots_[id].live && total < opt_.max_read_per_event) {
        Slot& s = slots_[id];
        const os::IoResult r = s.socket->receive(buffer_);
        if (r.state == os::IoState::WouldBlock) {
            return;
        }
        if (r.state == os::IoState::Eof) {
            s.eof = true;
            s.last_progress = now;
            watch(id, s.want_write ? os::Epoll::kWritable : 0u);
            return;
        }
        if (r.state == os::IoState::Error) {
            connection_error(id, r.error);
            return;
        }
        total += r.bytes;
        counters_.response_bytes += r.bytes;
        s.last_progress = now;
        // Bytes in the Request phase belong to its answer; after an answer was done (think,
        // close think) they are late bytes of that answer; in FinWait they are only counted.
        if (s.phase == Phase::Request || s.unchecked) {
            const size_t keep = std::min<size_t>(kHeadBytes - s.head_len, r.bytes);
            std::memcpy(s.head.data() + s.head_len, buffer_.data(), keep);
            s.head_len = static_cast<uint8_t>(s.head_len + keep);
            s.received += r.bytes;
            s.last_data_at = now;
        }
    }
}

void SocketTransport::response_done(uint32_t id, uint64_t now, bool by_quiet) {
    Slot& s = slots_[id];
    const RecordedRequest r = request(s);
    if (s.received > 0) {
        ++counters_.responses_seen;
    }
    if (r.response_len > 0 && s.received >= r.response_len) {
        ++counters_.responses_complete;
    } else if (by_quiet) {
        ++counters_.responses_quiet;
    }
    const bool unanswered = r.length > 0 && r.response_len > 0 && s.received == 0 && s.eof;
    if (unanswered) {
        ++counters_.requests_unanswered;  // the target closed without answering it
        ++counters_.sessions_unanswered;  // once: the session ends here
    }
    s.unchecked = true;
    s.answered = s.req;
    s.keep_from = r.begin;
    s.idle = false;
    ++s.req;
    const uint32_t count = rs(s).request_count;
    if ((s.req < count || unanswered) && s.eof) {
        // The target closed before the recording's client was done.
        ++counters_.closed_early;
        counters_.requests_unsent += count - s.req;
        s.req = count;
    }
    if (s.req < count) {
        s.phase = Phase::Think;
        s.phase_at = now + scale_time(request(s).think_ns, opt_.speed_milli);
    } else if (rs(s).open && !s.eof) {
        s.phase = Phase::Think;  // live: the next request has not begun yet
        s.phase_at = now;
    } else {
        s.phase = Phase::CloseThink;
        s.phase_at = s.eof ? now : now + scale_time(rs(s).close_think_ns, opt_.speed_milli);
    }
}

void SocketTransport::check_response(uint32_t id) {
    Slot& s = slots_[id];
    if (!s.unchecked) {
        return;
    }
    s.unchecked = false;
    const RecordedRequest r = request_at(s, s.answered);
    if (r.response_len == 0 && s.received == 0) {
        return;  // nothing was answered, as recorded
    }
    const std::span<const uint8_t> head(s.head.data(), s.head_len);
    std::string_view expected_status;
    bool status_later = false;
    if (opt_.feed != nullptr) {
        const auto live = opt_.feed->status_line(s.session, s.answered);
        if (!live && s.received > 0) {
            // The target answered before the online server's first line was seen: the feed
            // compares later.
            std::string got = first_line(head);
            const bool cut = got.size() == head.size();
            opt_.feed->compare_later(s.session, s.answered, s.local, std::move(got), cut);
            status_later = true;
        }
        expected_status = live.value_or(std::string_view());
    } else {
        expected_status = rec_.status_line(r);
    }
    const ResponseCheck c = compare_response(expected_status, r.response_len, head, s.received);
    if (s.received > 0 && !status_later) {
        switch (c.status) {
            case ResponseCheck::Status::Match:
                ++counters_.status_match;
                break;
            case ResponseCheck::Status::Mismatch:
                ++counters_.status_mismatch;
                if (counters_.mismatch_examples.size() < ReplayCounters::kMaxExamples) {
                    counters_.mismatch_examples.push_back({s.local.to_string(), s.session,
                                                           s.answered, std::string(expected_status),
                                                           c.replayed_status});
                }
                break;
            case ResponseCheck::Status::Unknown:
                ++counters_.status_unknown;
                break;
        }
    }
    switch (c.length) {
        case ResponseCheck::Length::Equal:
            ++counters_.length_equal;
            break;
        case ResponseCheck::Length::Longer:
            ++counters_.length_longer;
            break;
        case ResponseCheck::Length::Shorter:
            ++counters_.length_shorter;
            break;
    }
    if (!c.differs()) {
        return;
    }
    ++counters_.responses_differ;
    if (diff_ != nullptr) {
        DiffEntry e;
        e.session = s.session;
        e.copy = s.copy;
        e.loop = s.loop;
        e.request = s.answered;
        e.request_count = rs(s).request_count;
        e.recorded_client = rs(s).client;
        e.replayed_client = s.local;
        e.target = opt_.target;
        if (opt_.feed != nullptr) {
            e.request_bytes = opt_.feed->bytes(s.session, r.begin, r.length);
            e.recorded_status = expected_status;  // live: no captured head kept
        } else {
            e.request_bytes = rec_.stream(rs(s)).subspan(r.begin, r.length);
            e.recorded_status = rec_.status_line(r);
            e.recorded_head = rec_.response_head(r);
        }
        e.recorded_len = r.response_len;
        e.replayed_head = head;
        e.replayed_len = s.received;
        e.check = &c;
        diff_->add(e);
    }
}

// Moves through every phase that is due now (no recursion: a session may hold thousands of
// requests with no think time).
void SocketTransport::pump(uint32_t id, uint64_t now) {
    for (int guard = 0; guard < 1'000'000 && slots_[id].live; ++guard) {
        Slot& s = slots_[id];
        switch (s.phase) {
            case Phase::Connecting:
                return;
            case Phase::Think: {
                if (s.eof) {
                    // The target closed (e.g. its keep-alive timeout) while we were thinking.
                    const uint32_t count = rs(s).request_count;
                    ++counters_.closed_early;
                    counters_.requests_unsent += count - s.req;
                    s.req = count;
                    s.phase = Phase::CloseThink;
                    s.phase_at = now;
                    continue;
                }
                if (s.req >= rs(s).request_count) {
                    if (rs(s).open) {
                        return;  // live: wait for the client's next request
                    }
                    s.phase = Phase::CloseThink;
                    s.phase_at = now + scale_time(rs(s).close_think_ns, opt_.speed_milli);
                    continue;
                }
                if (now < s.phase_at) {
                    return;
                }
                release_request(id, now);
                continue;
            }
            case Phase::Request: {
                const RecordedRequest r = request(s);
                if (opt_.feed != nullptr && !s.want_write && s.written < r.length) {
                    write_request(id, now);  // live: the request grew
                    if (!slots_[id].live) {
                        return;
                    }
                }
                if (s.written < r.length) {
                    if (s.eof) {
                        // Closed before taking the whole request: the rest cannot be sent.
                        response_done(id, now, false);
                        continue;
                    }
                    return;
                }
                if (!answer_final(s)) {
                    // Live: the online server's answer may still grow. While the target has
                    // answered all of it so far, the copy waits on the live client, not on
                    // the target: no timeout runs.
                    if (s.eof) {
                        response_done(id, now, false);
                        continue;
                    }
                    if (s.idle) {
                        s.last_progress = now;
                    }
                    s.idle = s.received >= r.response_len;
                    return;
                }
                s.idle = false;  // live: the online session ended, this answer is the last
                if (r.response_len == 0 || s.eof) {
                    response_done(id, now, false);
                    continue;
                }
                if (s.received >= r.response_len) {
                    // Its tail may still come: done after a short pause.
                    if (now < s.last_data_at + settle_ns(s)) {
                        return;
                    }
                    response_done(id, now, false);
                    continue;
                }
                if (s.received > 0 && now >= s.last_data_at + quiet_ns(s)) {
                    response_done(id, now, true);
                    continue;
                }
                return;
            }
            case Phase::CloseThink:
                if (now < s.phase_at) {
                    return;
                }
                close_session(id, now);
                continue;
            case Phase::FinWait:
                if (s.eof) {
                    finish(id, Outcome::Completed);
                    return;
                }
                if (now >= s.phase_at) {
                    // The target keeps its side open: do not leave it half-open.
                    ++counters_.closed_with_reset;
                    finish(id, Outcome::Completed);
                }
                return;
        }
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

void SocketTransport::flush(uint64_t /*now_ns*/) {}

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
