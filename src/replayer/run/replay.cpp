#include "replayer/run/replay.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <unistd.h>

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/base/parse.h"
#include "common/base/stats.h"
#include "common/cli/run_main.h"
#include "common/os/clock.h"
#include "common/os/epoll.h"
#include "common/os/files.h"
#include "common/os/pcap_injector.h"
#include "common/os/raw_socket.h"
#include "common/os/status_line.h"
#include "common/os/stop_signal.h"
#include "common/os/stream_socket.h"
#include "replayer/input/load.h"
#include "replayer/run/transport_setup.h"
#include "replayer/transport/intercept_client.h"
#include "replayer/transport/raw_transport.h"
#include "replayer/transport/socket_transport.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kWakeNs = 250'000'000;       // at least this often: progress, signals
constexpr uint64_t kStartRetryNs = 10'000'000;  // no free endpoint: try again in 10 ms

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

struct Progress {
    uint64_t recorded_pos = 0;  // recorded time of the last started session (loops included)
};

std::string progress_line(const ReplayCounters& c, const Scheduler& sched, size_t active,
                          const Progress& p, uint64_t elapsed, const std::string& health) {
    std::string s = "sessions " + count_text(sched.returned()) + "/" + count_text(sched.total()) +
                    " started, " + count_text(active) + " active, " +
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
    if (elapsed > 0) {
        char buf[48];
        std::snprintf(buf, sizeof buf, " | %.2fx",
                      static_cast<double>(p.recorded_pos) / static_cast<double>(elapsed));
        s += buf;
    }
    if (!sched.done()) {
        // Time left until the last start, at the pace achieved so far.
        const uint64_t left = sched.total() - sched.returned();
        if (sched.returned() > 0 && elapsed > 0) {
            const double per = static_cast<double>(elapsed) / static_cast<double>(sched.returned());
            s += " | ETA " + eta_text(static_cast<uint64_t>(per * static_cast<double>(left)));
        }
    } else {
        s += " | finishing";
    }
    if (!health.empty()) {
        s += " | " + health;
    }
    return s;
}

}  // namespace

std::string format_plan(const Recording& rec, size_t max_sessions) {
    std::string o;
    char buf[256];
    for (size_t i = 0; i < rec.sessions.size() && i < max_sessions; ++i) {
        const RecordedSession& s = rec.sessions[i];
        const char* close = s.close == CloseKind::Fin   ? "FIN"
                            : s.close == CloseKind::Rst ? "RST"
                                                        : "none";
        std::snprintf(buf, sizeof buf,
                      "session %zu: %s -> %s at +%.6f s, %u requests, %u bytes%s, close %s%s\n", i,
                      s.client.to_string().c_str(), s.server.to_string().c_str(),
                      static_cast<double>(s.start_ns - rec.first_ns) / 1e9, s.request_count,
                      s.stream_len, s.has_syn ? "" : " (no SYN: built)", close,
                      s.server_closed_first ? " (server closed first)" : "");
        o += buf;
        const auto reqs = rec.requests_of(s);
        for (size_t k = 0; k < reqs.size(); ++k) {
            const RecordedRequest& r = reqs[k];
            std::snprintf(buf, sizeof buf,
                          "  request %zu: %u bytes after %.3f ms -> answer %u bytes '%.*s'\n",
                          k + 1, r.length, static_cast<double>(r.think_ns) / 1e6, r.response_len,
                          static_cast<int>(r.status_len), rec.text.data() + r.status_off);
            o += buf;
        }
    }
    if (rec.sessions.size() > max_sessions) {
        o += "... " + std::to_string(rec.sessions.size() - max_sessions) + " more sessions\n";
    }
    return o;
}

RunResult run_loop(const Recording& recording, Scheduler& sched, Transport& transport,
                   const RunLoopOptions& opt) {
    os::Epoll epoll = os::Epoll::create();
    os::use_precise_timers();
    transport.attach(epoll);
    os::StatusLine status(opt.progress);
    std::vector<os::Epoll::Event> events;

    const uint64_t lead = transport.lead_ns();
    const uint64_t t0 = os::monotonic_ns() + opt.start_delay_ns;
    const uint64_t span = recording.span_ns();
    Progress progress;
    RunResult result;
    uint64_t retry_at = 0;

    while (true) {
        uint64_t now = os::monotonic_ns();
        if (os::StopSignal::requested()) {
            result.stop_reason = "signal";
            transport.abort_all(now);
            break;
        }
        // Start every session copy whose time (minus the transport's lead) has come.
        bool capped = false;
        if (now >= retry_at) {
            retry_at = 0;
            for (auto ev = sched.peek(); ev; ev = sched.peek()) {
                const uint64_t due = t0 + ev->due_ns;
                if (due > now + lead) {
                    break;
                }
                if (transport.active() >= opt.max_active) {
                    capped = true;
                    break;
                }
                if (!transport.start(*ev, due, now)) {
                    retry_at = now + kStartRetryNs;
                    break;
                }
                progress.recorded_pos =
                    ev->loop * span +
                    (recording.sessions[ev->session].start_ns - recording.first_ns);
                sched.pop();
            }
        }
        transport.on_timer(now);
        transport.flush(now);
        if (sched.done() && transport.active() == 0) {
            break;
        }
        if (opt.duration_ns && now >= t0 + *opt.duration_ns + opt.grace_ns) {
            result.stop_reason = "duration";
            transport.abort_all(now);
            break;
        }
        const auto steady = std::chrono::steady_clock::now();
        if (status.due(steady)) {
            status.show(progress_line(transport.counters(), sched, transport.active(), progress,
                                      now > t0 ? now - t0 : 0, transport.health()),
                        steady);
        }
        // Sleep until the next deadline (epoll_pwait2: nanosecond timeout, 1 ns timer slack).
        uint64_t next = std::min(transport.next_deadline(), now + kWakeNs);
        if (retry_at != 0) {
            next = std::min(next, retry_at);
        } else if (!capped) {
            if (auto ev = sched.peek()) {
                const uint64_t due = t0 + ev->due_ns;
                next = std::min(next, due > lead ? due - lead : 0);
            }
        }
        const uint64_t before_sleep = os::monotonic_ns();
        epoll.wait_ns(events, next > before_sleep ? next - before_sleep : 0);
        for (const auto& e : events) {
            transport.on_event(e, os::monotonic_ns());
        }
    }
    transport.flush(os::monotonic_ns());
    status.clear();
    const uint64_t end = os::monotonic_ns();
    result.wall_ns = end > t0 ? end - t0 : 0;
    result.recorded_pos_ns = progress.recorded_pos;
    return result;
}

int run_replay(const ReplayOptions& o) {
    if (o.verbosity >= 2) {
        log::set_level(log::Level::Debug);
    } else if (o.quiet) {
        log::set_level(log::Level::Warn);
    }
    const bool socket_mode = o.transport == TransportMode::Socket;
    // The packet sender first: without root nothing else matters (the socket transport needs
    // neither root nor intercept).
    RawIo io;
    if (!o.dry_run && !socket_mode) {
        io = open_raw_io(o, "tcpreplay2 pid " + std::to_string(getpid()),
                         "raw replay needs intercept to see the target's answers: give "
                         "--intercept HOST[:PORT] (tcpcopy's -s)");
    }

    // Read the input.
    const auto load_start = std::chrono::steady_clock::now();
    LoadedInput in = load_input(o.input, o.builder);
    Recording& rec = in.recording;
    if (!in.recovered_from.empty()) {
        log::warn("%s; replaying what its intact frames hold", in.recovered_from.c_str());
    }
    for (const auto& problem : in.damage.problems) {
        log::warn("%s: %s (skipped)", o.input.c_str(), problem.c_str());
    }
    // Sessions of the other IP version cannot be sent to this target (without a pool of its
    // version, which gives every copy a new client address; sockets use this host's address).
    uint64_t other_family = 0;
    if (!o.client_pool && !socket_mode) {
        const auto keep = [&](const RecordedSession& s) {
            return s.client.addr.version == o.target.addr.version;
        };
        const auto it = std::stable_partition(rec.sessions.begin(), rec.sessions.end(), keep);
        other_family = static_cast<uint64_t>(rec.sessions.end() - it);
        rec.sessions.erase(it, rec.sessions.end());
    }
    const BuildStats& b = rec.stats;
    log::info("read %s (%s) in %.1f s: %llu sessions, %llu requests, %s of client data",
              o.input.c_str(), in.format.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count(),
              static_cast<unsigned long long>(rec.sessions.size()),
              static_cast<unsigned long long>(b.requests), human_bytes(b.client_bytes).c_str());
    if (rec.sessions.empty()) {
        throw Error(ErrorKind::Usage,
                    "nothing to replay in '" + o.input + "': no TCP session matches" +
                        (o.builder.selection.server_port
                             ? " port " + std::to_string(*o.builder.selection.server_port)
                             : std::string()) +
                        (other_family > 0 ? " and the target's IP version" : ""));
    }

    if (o.dry_run) {
        std::fputs(format_plan(rec, 1000).c_str(), stdout);
        return kExitOk;
    }

    // The schedule.
    std::vector<uint64_t> offsets;
    offsets.reserve(rec.sessions.size());
    for (const auto& s : rec.sessions) {
        offsets.push_back(s.start_ns - rec.first_ns);
    }
    ScheduleOptions so;
    so.speed_milli = o.speed_milli;
    so.copies = o.copies;
    so.loops = o.loops;
    so.duration_ns = o.duration_ns;
    Scheduler sched(std::move(offsets), rec.span_ns(), so);

    const TransportUse use{o.speed_milli, nullptr};
    std::unique_ptr<DiffWriter> diff;
    if (socket_mode) {
        const uint64_t fds = prepare_socket(o);
        if (fds < o.max_active + 64) {
            log::debug(
                "at most %llu open descriptors: sessions beyond about that many at once wait "
                "(raise `ulimit -n` or lower --max-active)",
                static_cast<unsigned long long>(fds));
        }
        if (!o.diff_file.empty()) {
            const std::string header = "# tcpreplay2 --diff: responses of " + o.input +
                                       " replayed into " + o.target.to_string() +
                                       " whose first line or length differ from the recording\n";
            diff = std::make_unique<DiffWriter>(o.diff_file, header);
        }
    }
    std::unique_ptr<Transport> transport = make_transport(rec, o, use, std::move(io), diff.get());

    RunLoopOptions lo;
    lo.max_active = o.max_active;
    lo.duration_ns = o.duration_ns;
    lo.grace_ns = o.timeout_ns;
    lo.progress = !o.quiet;
    lo.start_delay_ns = transport->lead_ns();
    const RunResult run = run_loop(rec, sched, *transport, lo);
    if (diff) {
        diff->commit();
    }

    RunSummary s;
    s.input = o.input;
    s.format = in.format;
    s.target = o.target.to_string();
    s.intercept = socket_mode ? std::string() : o.intercept->to_string();
    s.mode = socket_mode ? TransportMode::Socket : TransportMode::Raw;
    s.transport = describe_transport(o, use);
    s.diff_file = diff ? diff->path() : std::string();
    s.speed_milli = o.speed_milli;
    s.copies = o.copies;
    s.loops = o.loops;
    // A run stopped early covered the recording up to its last start only.
    s.recorded_ns = run.stop_reason.empty() ? rec.span_ns() * o.loops : run.recorded_pos_ns;
    s.wall_ns = run.wall_ns;
    s.build = rec.stats;
    s.frames_damaged = in.damage.frames_damaged;
    s.damage = in.damage.problems;
    if (s.damage.size() > 5) {
        s.damage.resize(5);
    }
    s.sessions_in_recording = rec.sessions.size();
    s.sessions_skipped_family = other_family;
    s.counters = transport->counters();
    s.counters.sessions_planned = sched.total();
    s.stop_reason = run.stop_reason;
    s.max_failed_percent = o.max_failed_percent;
    std::fputs(format_summary(s).c_str(), stdout);
    std::fflush(stdout);
    if (!o.report_json.empty()) {
        const std::string json = format_json(s);
        os::AtomicFile f = os::AtomicFile::create(o.report_json);
        f.write(
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(json.data()), json.size()));
        f.commit();
    }
    return failed_beyond(s) ? kExitDamaged : kExitOk;
}

}  // namespace tcpr::replay
