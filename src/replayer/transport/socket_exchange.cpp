// SocketTransport's exchange of one copy with the target: each request written when its time
// comes, its answer read and judged done (the recorded length and a short settle, or a quiet
// period, or the target's close) and compared with the recording; pump() moves a copy through
// its phases. Connecting, closing, events and timers are in socket_transport.cpp.
#include <algorithm>
#include <cstring>

#include "replayer/schedule/scheduler.h"
#include "replayer/transport/socket_transport.h"

namespace tcpr::replay {

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
    if (opt_.compare) {
        s.endpoint = counters_.endpoints.id_of(rec_, r, request_start(s, r), s.endpoint);
        s.written_at = r.length == 0 ? now : 0;
        s.first_data_at = 0;
        s.digest.reset(opt_.noise);
    }
    write_request(id, now);
}

// The first bytes of request `r` of the slot's session (to name its endpoint).
std::span<const uint8_t> SocketTransport::request_start(const Slot& s,
                                                        const RecordedRequest& r) const {
    const uint32_t n = std::min<uint32_t>(r.length, kEndpointScanBytes);
    return opt_.feed != nullptr ? opt_.feed->bytes(s.session, r.begin, n)
                                : rec_.stream(rs(s)).subspan(r.begin, n);
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
        if (s.written_at == 0) {
            s.written_at = now;
        }
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
            if (s.received == 0 && s.phase == Phase::Request) {
                s.first_data_at = now;
            }
            const size_t keep = std::min<size_t>(kHeadBytes - s.head_len, r.bytes);
            std::memcpy(s.head.data() + s.head_len, buffer_.data(), keep);
            s.head_len = static_cast<uint16_t>(s.head_len + keep);
            if (opt_.compare) {
                s.digest.add(std::span<const uint8_t>(buffer_.data(), r.bytes));
            }
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
    if (opt_.compare) {
        // Latency from the request's last byte written to the answer's first and last byte read:
        // measured here, at the client, as the recording measured it at its capture point.
        const bool timed = s.written_at != 0 && s.received > 0;
        const uint32_t first_us = timed && s.first_data_at >= s.written_at
                                      ? latency_us(s.first_data_at - s.written_at)
                                      : kNoLatency;
        const uint32_t last_us = timed && s.last_data_at >= s.written_at
                                     ? latency_us(s.last_data_at - s.written_at)
                                     : kNoLatency;
        if (opt_.requests != nullptr) {
            RequestEntry e;
            e.session = s.session;
            e.loop = s.loop;
            e.request = s.answered;
            e.client = s.local;
            e.endpoint = counters_.endpoints.name_of(s.endpoint);
            e.recorded = {expected_status, r.response_len,    r.body_digest,
                          r.head_digest,   r.answer_first_us, r.answer_last_us};
            e.replayed = {c.replayed_status, s.received, 0, 0, first_us, last_us};
            take_digests(s.digest, e.replayed);
            opt_.requests->add(e);
        }
        if (s.received > 0) {
            // Decided once every copy answered (at once with one copy).
            const AnswerSeen seen{
                opt_.feed == nullptr ? rec_.response_head(r)
                                     : opt_.feed->response_head(s.session, s.answered),
                std::span<const uint8_t>(s.head.data(), s.head_len), request_start(s, r), s.local};
            votes_.vote({s.session, s.loop, s.answered}, s.endpoint, s.digest, r, seen, counters_);
        }
        counters_.endpoints.record(
            s.endpoint, r,
            !status_later && s.received > 0 && c.status == ResponseCheck::Status::Mismatch,
            first_us, last_us);
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
            e.recorded_status = expected_status;
            e.recorded_head = opt_.feed->response_head(s.session, s.answered);
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

// The Think phase: true when the session moved on (pump again), false when it waits.
bool SocketTransport::step_think(uint32_t id, uint64_t now) {
    Slot& s = slots_[id];
    if (s.eof) {
        // The target closed (e.g. its keep-alive timeout) while we were thinking.
        const uint32_t count = rs(s).request_count;
        ++counters_.closed_early;
        counters_.requests_unsent += count - s.req;
        s.req = count;
        s.phase = Phase::CloseThink;
        s.phase_at = now;
        return true;
    }
    if (s.req >= rs(s).request_count) {
        if (rs(s).open) {
            return false;  // live: wait for the client's next request
        }
        s.phase = Phase::CloseThink;
        s.phase_at = now + scale_time(rs(s).close_think_ns, opt_.speed_milli);
        return true;
    }
    if (rs(s).shed) {
        // Live, over --max-lag: the requests this copy has not begun are shed.
        counters_.requests_unsent += rs(s).request_count - s.req;
        s.req = rs(s).request_count;
        s.phase = Phase::CloseThink;
        s.phase_at = now;
        return true;
    }
    if (now < s.phase_at) {
        return false;
    }
    release_request(id, now);
    return true;
}

// The Request phase: its bytes written, its answer read until done. True when the session
// moved on (pump again), false when it waits.
bool SocketTransport::step_request(uint32_t id, uint64_t now) {
    Slot& s = slots_[id];
    const RecordedRequest r = request(s);
    if (opt_.feed != nullptr && !s.want_write && s.written < r.length) {
        write_request(id, now);  // live: the request grew
        if (!slots_[id].live) {
            return false;
        }
    }
    if (s.written < r.length) {
        if (s.eof) {
            // Closed before taking the whole request: the rest cannot be sent.
            response_done(id, now, false);
            return true;
        }
        return false;
    }
    if (!answer_final(s)) {
        // Live: the online server's answer may still grow. While the target has
        // answered all of it so far, the copy waits on the live client, not on
        // the target: no timeout runs.
        if (s.eof) {
            response_done(id, now, false);
            return true;
        }
        if (s.idle) {
            s.last_progress = now;
        }
        s.idle = s.received >= r.response_len;
        return false;
    }
    s.idle = false;  // live: the online session ended, this answer is the last
    if (r.response_len == 0 || s.eof) {
        response_done(id, now, false);
        return true;
    }
    if (s.received >= r.response_len) {
        // Its tail may still come: done after a short pause.
        if (now < s.last_data_at + settle_ns(s)) {
            return false;
        }
        response_done(id, now, false);
        return true;
    }
    if (s.received > 0 && now >= s.last_data_at + quiet_ns(s)) {
        response_done(id, now, true);
        return true;
    }
    return false;
}

// Moves through every phase that is due now (no recursion: a session may hold thousands of
// requests with no think time).
void SocketTransport::pump(uint32_t id, uint64_t now) {
    for (int guard = 0; guard < 1'000'000 && slots_[id].live; ++guard) {
        Slot& s = slots_[id];
        switch (s.phase) {
            case Phase::Connecting:
                return;
            case Phase::Think:
                if (!step_think(id, now)) {
                    return;
                }
                continue;
            case Phase::Request:
                if (!step_request(id, now)) {
                    return;
                }
                continue;
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

}  // namespace tcpr::replay
