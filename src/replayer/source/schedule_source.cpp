#include "replayer/source/schedule_source.h"

#include <cstdio>

#include "common/base/stats.h"

namespace tcpr::replay {
namespace {

std::string eta_text(uint64_t ns) {
    const uint64_t s = ns / 1'000'000'000;
    char buf[32];
    if (s >= 3600) {
        std::snprintf(buf, sizeof buf, "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                      static_cast<unsigned long long>(s / 60 % 60));
    } else if (s >= 60) {
        std::snprintf(buf, sizeof buf, "%llum%02llus", static_cast<unsigned long long>(s / 60),
                      static_cast<unsigned long long>(s % 60));
    } else {
        std::snprintf(buf, sizeof buf, "%llus", static_cast<unsigned long long>(s));
    }
    return buf;
}

}  // namespace

std::string copies_progress(const Transport& transport, uint64_t recorded_pos_ns,
                            uint64_t elapsed_ns) {
    const ReplayCounters& c = transport.counters();
    std::string s = ", " + count_text(transport.active()) + " active, " +
                    count_text(c.sessions_done()) + " done";
    if (c.sessions_failed() > 0) {
        s += " (" + count_text(c.sessions_reset) + " reset, " + count_text(c.sessions_timed_out) +
             " timed out)";
    }
    s += " | requests " + count_text(c.requests_sent) + ", responses " +
         count_text(c.responses_seen);
    // Socket replay sends no packets of its own: it shows the bytes it wrote.
    s += c.packets_sent == 0 && c.payload_bytes_sent > 0
             ? " | sent " + human_bytes(c.payload_bytes_sent)
             : " | packets " + count_text(c.packets_sent);
    if (elapsed_ns > 0) {
        char buf[48];
        std::snprintf(buf, sizeof buf, " | %.2fx",
                      static_cast<double>(recorded_pos_ns) / static_cast<double>(elapsed_ns));
        s += buf;
    }
    return s;
}

ScheduleSource::ScheduleSource(const Recording& recording, Scheduler& scheduler, ArchiveFacts facts)
    : rec_(recording), sched_(scheduler), facts_(std::move(facts)) {}

void ScheduleSource::begin(os::Epoll&, uint64_t start_ns) { t0_ = start_ns; }

std::optional<DueStart> ScheduleSource::next_start(uint64_t) const {
    const std::optional<StartEvent> ev = sched_.peek();
    if (!ev) {
        return std::nullopt;
    }
    return DueStart{*ev, t0_ + ev->due_ns, kNever};
}

void ScheduleSource::started() {
    const std::optional<StartEvent> ev = sched_.peek();
    recorded_pos_ =
        ev->loop * rec_.span_ns() + (rec_.sessions[ev->session].start_ns - rec_.first_ns);
    sched_.pop();
}

std::string ScheduleSource::status(const Transport& transport, uint64_t elapsed) const {
    std::string s = "sessions " + count_text(sched_.returned()) + "/" + count_text(sched_.total()) +
                    " started" + copies_progress(transport, recorded_pos_, elapsed);
    if (!sched_.done()) {
        // Time left until the last start, at the pace achieved so far.
        const uint64_t left = sched_.total() - sched_.returned();
        if (sched_.returned() > 0 && elapsed > 0) {
            const double per =
                static_cast<double>(elapsed) / static_cast<double>(sched_.returned());
            s += " | ETA " + eta_text(static_cast<uint64_t>(per * static_cast<double>(left)));
        }
    } else {
        s += " | finishing";
    }
    const std::string health = transport.health();
    if (!health.empty()) {
        s += " | " + health;
    }
    return s;
}

void ScheduleSource::summarize(RunSummary& s) const {
    s.input = facts_.input;
    s.format = facts_.format;
    // A run stopped early covered the recording up to its last start only.
    s.recorded_ns = s.stop_reason.empty() ? rec_.span_ns() * s.loops : recorded_pos_;
    s.build = rec_.stats;
    s.frames_damaged = facts_.frames_damaged;
    s.damage = facts_.damage;
    if (s.damage.size() > 5) {
        s.damage.resize(5);
    }
    s.sessions_in_recording = rec_.sessions.size();
    s.sessions_skipped_family = facts_.sessions_skipped_family;
    s.counters.sessions_planned = sched_.total();
}

}  // namespace tcpr::replay
