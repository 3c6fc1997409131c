#include "replayer/source/stream_source.h"

#include <algorithm>
#include <cstdio>

#include "common/base/stats.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kSweepNs = 1'000'000'000;  // idle expiry and release of ended sessions
constexpr uint64_t kSessionBytes = 2048;      // a followed connection's memory, about

LiveConfig archive_flavour(LiveConfig c) {
    c.archive = true;
    return c;
}

}  // namespace

StreamSource::StreamSource(InputStream& input, LiveConfig config, StreamOptions options,
                           ArchiveFacts facts)
    : in_(input),
      live_(archive_flavour(std::move(config))),
      opt_(options),
      facts_(std::move(facts)) {
    opt_.copies = std::max<uint32_t>(opt_.copies, 1);
    opt_.loops = std::max<uint32_t>(opt_.loops, 1);
}

void StreamSource::begin(os::Epoll&, uint64_t start_ns) {
    t0_ = start_ns;
    last_motion_ = start_ns;
    next_sweep_ = start_ns + kSweepNs;
}

uint64_t StreamSource::due_of(uint64_t recorded_ts) const {
    return t0_ +
           scale_time(recorded_ts > first_ts_ ? recorded_ts - first_ts_ : 0, opt_.speed_milli);
}

bool StreamSource::may_read(uint64_t now_ns, uint64_t frame_ts) const {
    if (opt_.speed_milli == 0) {
        // What is read ahead: client bytes, and about kSessionBytes for each connection
        // followed (its assembly state, its requests' digests).
        const uint64_t held = live_.buffered_bytes() + live_.tracked() * kSessionBytes;
        if (held < opt_.buffer_bytes) {
            return true;
        }
        return now_ns >= last_motion_ + opt_.stall_ns;  // every copy waits for what lies beyond
    }
    const uint64_t elapsed = now_ns > t0_ ? now_ns - t0_ : 0;
    const uint64_t pos = elapsed / 1000 * opt_.speed_milli;  // recorded time replayed by now
    return frame_ts - first_ts_ <= pos + opt_.lookahead_ns;
}

void StreamSource::end_of_pass() {
    queue_new();  // this pass's last sessions, before the loop moves on
    if (loop_ == 0) {
        span_ = last_ts_ - first_ts_;
        first_pass_ = live_.stats();
    }
    if (loop_ + 1 < opt_.loops) {
        ++loop_;
        loop_shift_ = loop_ * span_;
        live_.end_input(capture_now_, loop_shift_);
        in_.rewind();
        return;
    }
    live_.close_all(capture_now_);
    finished_reading_ = true;
}

void StreamSource::read(uint64_t now_ns) {
    for (int i = 0; i < opt_.batch && !finished_reading_; ++i) {
        if (!have_frame_) {
            if (!in_.next(frame_)) {
                end_of_pass();
                continue;
            }
            have_frame_ = true;
            if (!have_first_) {
                have_first_ = true;
                first_ts_ = last_ts_ = frame_.ts_ns;
            }
        }
        const uint64_t ts = frame_.ts_ns + loop_shift_;
        if (opt_.duration_ns && due_of(ts) >= t0_ + *opt_.duration_ns) {
            // No session starts at or after --duration: the rest is not read; what is in
            // flight ends as read so far.
            have_frame_ = false;
            live_.close_all(capture_now_);
            finished_reading_ = true;
            stopped_early_ = true;
            if (loop_ == 0) {
                first_pass_ = live_.stats();
                span_ = capture_now_ - first_ts_;
            }
            break;
        }
        if (!may_read(now_ns, ts)) {
            break;
        }
        if (loop_ == 0) {
            last_ts_ = std::max(last_ts_, frame_.ts_ns);
        }
        capture_now_ = std::max(capture_now_, ts);
        live_.add_frame(frame_.link_type, ts, frame_.bytes, capture_now_);
        have_frame_ = false;
    }
    queue_new();
}

void StreamSource::queue_new() {
    live_.take_new(ids_);
    for (uint32_t id : ids_) {
        const RecordedSession& s = live_.recording().sessions[id];
        ++sessions_;
        const uint64_t due = due_of(s.start_ns);
        for (uint32_t k = 0; k < opt_.copies; ++k) {
            StartEvent e;
            e.due_ns = due - t0_;
            e.session = id;
            e.copy = k;
            e.loop = loop_;
            waiting_.push({due, seq_++, e, s.start_ns - first_ts_});
        }
    }
}

void StreamSource::poll(uint64_t now_ns) {
    now_ = now_ns;
    read(now_ns);
}

std::optional<DueStart> StreamSource::next_start(uint64_t) const {
    if (waiting_.empty()) {
        return std::nullopt;
    }
    return DueStart{waiting_.top().event, waiting_.top().due_ns, kNever};
}

void StreamSource::started() {
    const Waiting& w = waiting_.top();
    live_.copy_started(w.event.session);
    recorded_pos_ = std::max(recorded_pos_, w.recorded_offset);
    ++started_;
    last_motion_ = now_;
    waiting_.pop();
}

void StreamSource::update(Transport& transport, uint64_t now_ns) {
    live_.take_changed(ids_);
    for (uint32_t id : ids_) {
        live_.progress(id, transport.wake(id, now_ns));
    }
    const ReplayCounters& c = transport.counters();
    const uint64_t sent = c.packets_sent + c.payload_bytes_sent + c.responses_seen;
    if (sent != last_sent_) {
        last_sent_ = sent;
        last_motion_ = now_ns;
    }
}

void StreamSource::upkeep(uint64_t now_ns) {
    // Every second, of the loop's time or of capture time (read far faster at --speed max), so
    // that connections over are released within about their linger in capture time.
    if (now_ns >= next_sweep_ || capture_now_ >= swept_capture_ + kSweepNs) {
        live_.expire(capture_now_);
        next_sweep_ = now_ns + kSweepNs;
        swept_capture_ = capture_now_;
    }
}

uint64_t StreamSource::next_deadline() const {
    if (finished_reading_) {
        return next_sweep_;
    }
    if (!have_frame_) {
        return 0;  // the batch ended: read on at once
    }
    if (opt_.speed_milli == 0) {
        return std::min(next_sweep_, last_motion_ + opt_.stall_ns);
    }
    // When the frame waiting comes within the look-ahead.
    const uint64_t rel = frame_.ts_ns + loop_shift_ - first_ts_;
    const uint64_t at =
        rel > opt_.lookahead_ns ? t0_ + scale_time(rel - opt_.lookahead_ns, opt_.speed_milli) : 0;
    return std::min(next_sweep_, at);
}

std::string StreamSource::status(const Transport& transport, uint64_t elapsed) const {
    std::string s = "sessions " + count_text(started_ / opt_.copies) + " started (" +
                    count_text(sessions_) + " read)" +
                    copies_progress(transport, recorded_pos_, elapsed);
    s += " | buffered " + human_bytes(live_.buffered_bytes());
    s += finished_reading_ ? " | finishing" : "";
    const std::string health = transport.health();
    if (!health.empty()) {
        s += " | " + health;
    }
    return s;
}

void StreamSource::summarize(RunSummary& s) const {
    // The input as one pass read it (loops read it again).
    const bool one_pass = loop_ > 0 || finished_reading_;
    const LiveStats& l = one_pass ? first_pass_ : live_.stats();
    s.input = facts_.input;
    s.format = in_.format();
    s.recorded_ns = stopped_early_ || !s.stop_reason.empty()
                        ? recorded_pos_
                        : span_ * static_cast<uint64_t>(opt_.loops);
    BuildStats& b = s.build;
    b.records = l.frames;
    b.tcp_packets = l.tcp_packets;
    b.skipped = l.skipped;
    b.connections = l.connections;
    b.other_port = l.other_port;
    b.other_shard = l.other_shard;
    b.not_selected = l.not_selected;
    b.mid_session_no_boundary = l.mid_session_never;
    b.mid_session_skipped_bytes = l.mid_session_skipped_bytes;
    b.sessions = l.sessions;
    b.mid_session = l.mid_session;
    b.requests = l.requests;
    b.client_bytes = l.client_bytes;
    b.missing_bytes = l.missing_bytes;
    const archive::DamageReport d = in_.damage();
    s.frames_damaged = d.frames_damaged;
    s.damage = d.problems;
    if (s.damage.size() > 5) {
        s.damage.resize(5);
    }
    s.sessions_in_recording = l.sessions;
    s.sessions_skipped_family = l.other_family;
    const LiveStats& all = live_.stats();
    s.counters.sessions_planned = sessions_ * opt_.copies;
    s.counters.requests_unsent += all.requests_unsent;
    s.counters.status_match += all.status_match;
    s.counters.status_mismatch += all.status_mismatch;
    s.counters.status_unknown += all.status_unknown;
    for (const auto& m : all.mismatch_examples) {
        if (s.counters.mismatch_examples.size() < ReplayCounters::kMaxExamples) {
            s.counters.mismatch_examples.push_back(m);
        }
    }
}

}  // namespace tcpr::replay
