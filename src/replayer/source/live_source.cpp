#include "replayer/source/live_source.h"

#include <algorithm>
#include <chrono>

#include "common/base/log.h"
#include "common/base/parse.h"
#include "common/base/stats.h"
#include "common/os/stop_signal.h"
#include "replayer/report/live_report.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kCaptureTag = 2;
constexpr uint64_t kSweepNs = 1'000'000'000;  // idle expiry and release of ended sessions
constexpr int kBatch = 1024;                  // packets read per loop iteration at most

}  // namespace

LiveSource::LiveSource(std::unique_ptr<os::PacketSource> capture, const LiveConfig& config,
                       LiveSourceOptions options, std::unique_ptr<LiveRecorder> recorder)
    : capture_(std::move(capture)),
      link_(capture_->link_type()),
      live_(config),
      opt_(std::move(options)),
      recorder_(std::move(recorder)) {}

void LiveSource::begin(os::Epoll& epoll, uint64_t start_ns) {
    epoll_ = &epoll;
    capture_->set_nonblocking(true);
    capture_fd_ = capture_->selectable_fd();
    if (capture_fd_ >= 0) {
        epoll.add(capture_fd_, os::Epoll::kReadable, kCaptureTag);
    }
    t0_ = start_ns;
    next_sweep_ = start_ns + kSweepNs;
}

void LiveSource::add(const os::CapturedPacket& p, uint64_t now_ns) {
    if (recorder_) {
        recorder_->add(p);
    }
    live_.add_frame(link_, p.ts_ns, p.bytes, now_ns);
}

void LiveSource::on_readable(uint64_t tag) {
    if (tag == kCaptureTag) {
        capture_ready_ = true;
    }
}

void LiveSource::stop(uint64_t now_ns) {
    capturing_ = false;
    stop_reason_ = os::StopSignal::requested() ? "signal" : "duration";
    // Packets already captured are still copied (and recorded).
    while (capture_->next(pkt_) == os::PacketSource::Status::Packet) {
        add(pkt_, now_ns);
    }
    if (capture_fd_ >= 0) {
        epoll_->remove(capture_fd_);
    }
    live_.close_all(now_ns);
    drain_until_ = now_ns + opt_.drain_ns;
}

void LiveSource::poll(uint64_t now_ns) {
    if (capturing_ &&
        (os::StopSignal::requested() || (opt_.duration_ns && now_ns >= t0_ + *opt_.duration_ns))) {
        stop(now_ns);
    }
    if (capturing_ && (capture_ready_ || capture_fd_ < 0)) {
        int i = 0;
        for (; i < kBatch; ++i) {
            if (capture_->next(pkt_) != os::PacketSource::Status::Packet) {
                break;
            }
            add(pkt_, now_ns);
        }
        capture_ready_ = i == kBatch;
    }
    // New sessions: their copies start now, or are given up after --timeout.
    live_.take_new(ids_);
    for (uint32_t id : ids_) {
        ++started_sessions_;
        for (uint32_t k = 0; k < opt_.copies; ++k) {
            starts_.push_back({id, k, now_ns + opt_.give_up_ns});
        }
    }
}

std::optional<DueStart> LiveSource::next_start(uint64_t now_ns) const {
    if (starts_.empty()) {
        return std::nullopt;
    }
    DueStart d;
    d.event.session = starts_.front().session;
    d.event.copy = starts_.front().copy;
    d.due_ns = now_ns;  // a live copy follows its session at once
    d.give_up_at = starts_.front().give_up_at;
    return d;
}

void LiveSource::started() {
    live_.copy_started(starts_.front().session);
    starts_.pop_front();
}

void LiveSource::gave_up() {
    const PendingStart p = starts_.front();
    starts_.pop_front();
    live_.copy_not_started(p.session);
    log::debug("copy %u of session %u not started: no free client endpoint", p.copy, p.session);
}

void LiveSource::update(Transport& transport, uint64_t now_ns) {
    // Sessions that changed: their copies move on.
    live_.take_changed(ids_);
    for (uint32_t id : ids_) {
        live_.progress(id, transport.wake(id, now_ns));
    }
}

void LiveSource::upkeep(uint64_t now_ns) {
    if (now_ns >= next_sweep_) {
        live_.expire(now_ns);
        next_sweep_ = now_ns + kSweepNs;
    }
    if (recorder_) {
        recorder_->flush_if_due(now_ns);
    }
}

uint64_t LiveSource::next_deadline() const {
    return capturing_ ? next_sweep_ : std::min(next_sweep_, drain_until_);
}

// On a terminal redrawn every second; otherwise one line per --stats-interval, so a
// long-running copy leaves a readable log.
std::string LiveSource::status(const Transport& transport, uint64_t elapsed_ns) const {
    const LiveStats& l = live_.stats();
    const ReplayCounters& c = transport.counters();
    std::string s = "live " + format_duration(std::chrono::nanoseconds(elapsed_ns)) +
                    " | connections " + count_text(l.connections) + ", " +
                    count_text(live_.open_sessions()) + " open | copies " +
                    count_text(c.sessions_started) + " started, " + count_text(transport.active()) +
                    " active, " + count_text(c.sessions_done()) + " done";
    if (c.sessions_failed() > 0) {
        s += " (" + count_text(c.sessions_reset) + " reset, " + count_text(c.sessions_timed_out) +
             " timed out)";
    }
    s += " | requests " + count_text(c.requests_sent) + ", responses " +
         count_text(c.responses_seen);
    if (l.dropped_cap + l.dropped_buffer > 0) {
        s += " | dropped " + count_text(l.dropped_cap + l.dropped_buffer);
    }
    const os::CaptureCounters cc = capture_->counters();
    s += " | capture drops " + count_text(cc.kernel_drops + cc.interface_drops);
    const std::string recorded = recorder_ ? recorder_->size_text() : std::string();
    if (!recorded.empty()) {
        s += " | recorded " + recorded;
    }
    const std::string health = transport.health();
    if (!health.empty()) {
        s += " | " + health;
    }
    return s;
}

void LiveSource::finish() {
    const os::CaptureCounters cc = capture_->counters();
    drops_ = cc.kernel_drops + cc.interface_drops;
    // The archive: finished and published even when stopped by a signal.
    if (recorder_) {
        recorded_ = recorder_->finish(cc);
    }
}

void LiveSource::summarize(RunSummary& s) const {
    const LiveStats& l = live_.stats();
    s.input = opt_.input;
    s.format = "live capture";
    s.speed_milli = 1000;
    s.loops = 1;
    s.recorded_ns = s.wall_ns;
    BuildStats& b = s.build;
    b.records = l.frames;
    b.tcp_packets = l.tcp_packets;
    b.skipped = l.skipped;
    b.connections = l.connections + l.mid_session;
    b.not_selected = l.not_selected + l.dropped_cap + l.dropped_buffer;
    b.mid_session_no_boundary = l.mid_session_never;
    b.mid_session_skipped_bytes = l.mid_session_skipped_bytes;
    b.sessions = l.sessions;
    b.mid_session = l.mid_session;
    b.requests = l.requests;
    b.client_bytes = l.client_bytes;
    b.missing_bytes = l.missing_bytes;
    s.sessions_in_recording = l.sessions;
    s.sessions_skipped_family = l.other_family;
    // The comparisons made after the target's answer (the online answer came later) are the
    // feed's, not the transport's.
    s.counters.sessions_planned = started_sessions_ * opt_.copies;
    s.counters.requests_unsent += l.requests_unsent;
    s.counters.status_match += l.status_match;
    s.counters.status_mismatch += l.status_mismatch;
    s.counters.status_unknown += l.status_unknown;
    for (const auto& m : l.mismatch_examples) {
        if (s.counters.mismatch_examples.size() < ReplayCounters::kMaxExamples) {
            s.counters.mismatch_examples.push_back(m);
        }
    }
}

uint64_t LiveSource::capture_drops_now() const {
    const os::CaptureCounters c = capture_->counters();
    return std::max(drops_, c.kernel_drops + c.interface_drops);
}

std::string LiveSource::summary_text(const RunSummary&) const {
    return format_live_summary(live_.stats(), drops_, recorded_);
}

std::string LiveSource::summary_json(const RunSummary& s) const {
    return format_live_json(s, live_.stats(), drops_, recorded_);
}

}  // namespace tcpr::replay
