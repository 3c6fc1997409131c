#include "replayer/run/replay.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <unistd.h>
#include <vector>

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/base/stats.h"
#include "common/cli/run_main.h"
#include "replayer/input/input_stream.h"
#include "replayer/input/load.h"
#include "replayer/run/summary.h"
#include "replayer/run/transport_setup.h"
#include "replayer/source/schedule_source.h"
#include "replayer/source/stream_source.h"

namespace tcpr::replay {
namespace {

// The input as replayed: loaded, its damage reported, the sessions of the other IP version left
// out (they cannot be sent to this target without a pool of its version, which gives every copy
// a new client address; sockets use this host's address). Throws Error(Usage) when no session
// is left.
struct ReplayInput {
    LoadedInput loaded;
    uint64_t other_family = 0;
};

ReplayInput read_input(const ReplayOptions& o) {
    const auto load_start = std::chrono::steady_clock::now();
    ReplayInput in{load_input(expand_inputs(o.inputs), o.builder), 0};
    Recording& rec = in.loaded.recording;
    if (!in.loaded.recovered_from.empty()) {
        log::warn("%s; replaying what its intact frames hold", in.loaded.recovered_from.c_str());
    }
    for (const auto& problem : in.loaded.damage.problems) {
        if (in.loaded.files > 1) {
            log::warn("%s (skipped)", problem.c_str());  // the line names its file
        } else {
            log::warn("%s: %s (skipped)", o.input.c_str(), problem.c_str());
        }
    }
    if (!o.client_pool && o.transport != TransportMode::Socket) {
        const auto keep = [&](const RecordedSession& s) {
            return s.client.addr.version == o.target.addr.version;
        };
        const auto it = std::stable_partition(rec.sessions.begin(), rec.sessions.end(), keep);
        in.other_family = static_cast<uint64_t>(rec.sessions.end() - it);
        rec.sessions.erase(it, rec.sessions.end());
    }
    const BuildStats& b = rec.stats;
    log::info("read %s (%s) in %.1f s: %llu sessions, %llu requests, %s of client data",
              o.input.c_str(), in.loaded.format.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count(),
              static_cast<unsigned long long>(rec.sessions.size()),
              static_cast<unsigned long long>(b.requests), human_bytes(b.client_bytes).c_str());
    if (rec.sessions.empty() && o.shards > 1 && b.other_shard > 0) {
        // A small recording leaves some shards nothing: they end at once, their report empty
        // (it still merges with the others').
        log::warn("shard %u of %u: no session of '%s' hashes to this shard", o.shard, o.shards,
                  o.input.c_str());
    } else if (rec.sessions.empty()) {
        throw Error(ErrorKind::Usage,
                    "nothing to replay in '" + o.input + "': no TCP session matches" +
                        (o.builder.selection.server_port
                             ? " port " + std::to_string(*o.builder.selection.server_port)
                             : std::string()) +
                        (in.other_family > 0 ? " and the target's IP version" : ""));
    }
    return in;
}

Scheduler make_scheduler(const Recording& rec, const ReplayOptions& o) {
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
    return Scheduler(std::move(offsets), rec.span_ns(), so);
}

// --transport socket: prepare_socket() and the --diff file (null without --diff).
std::unique_ptr<DiffWriter> prepare_socket_replay(const ReplayOptions& o) {
    const uint64_t fds = prepare_socket(o);
    if (fds < o.max_active + 64) {
        log::debug(
            "at most %llu open descriptors: sessions beyond about that many at once wait "
            "(raise `ulimit -n` or lower --max-active)",
            static_cast<unsigned long long>(fds));
    }
    if (o.diff_file.empty()) {
        return nullptr;
    }
    const std::string header = "# tcpreplay2 --diff: responses of " + o.input + " replayed into " +
                               o.target.to_string() +
                               " whose first line or length differ from the recording\n";
    return std::make_unique<DiffWriter>(o.diff_file, header);
}

}  // namespace

RunResult run_loop(const Recording& recording, Scheduler& scheduler, Transport& transport,
                   const RunLoopOptions& options) {
    ScheduleSource source(recording, scheduler);
    return run_loop(source, transport, options);
}

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

namespace {

// The files a replay writes while it runs: --report requests and (socket transport) --diff.
struct RunOutputs {
    std::unique_ptr<RequestLog> requests;
    std::unique_ptr<DiffWriter> diff;
};
RunOutputs open_outputs(const ReplayOptions& o) {
    RunOutputs out;
    if (!o.report_requests.empty()) {
        out.requests = std::make_unique<RequestLog>(o.report_requests);
    }
    if (o.transport == TransportMode::Socket) {
        out.diff = prepare_socket_replay(o);
    }
    return out;
}

// The run loop of an archive replay, whichever its source.
RunResult run_archive_loop(const ReplayOptions& o, SessionSource& source, Transport& transport,
                           os::MetricsServer* metrics) {
    RunLoopOptions lo;
    lo.metrics = metrics;
    lo.max_active = o.max_active;
    lo.duration_ns = o.duration_ns;
    lo.grace_ns = o.timeout_ns;
    lo.progress = !o.quiet;
    lo.start_delay_ns = transport.lead_ns();
    lo.start_at_realtime_ns = o.start_at_ns;
    return run_loop(source, transport, lo);
}

// The run's files committed, its summary printed and its reports written; the exit code.
int report_run(const ReplayOptions& o, const TransportUse& use, RunOutputs& out,
               const Transport& transport, const SessionSource& source, const RunResult& run) {
    if (out.diff) {
        out.diff->commit();
    }
    if (out.requests) {
        out.requests->commit();
    }
    const RunSummary s =
        build_summary(o, describe_transport(o, use), out.diff ? out.diff->path() : std::string(),
                      transport, source, run);
    publish_summary(o, s, source);
    return failed_beyond(s) ? kExitDamaged : kExitOk;
}

// The archive builder's options as the streaming source's (live_sessions.h, archive flavour).
LiveConfig stream_config(const ReplayOptions& o, const InputStream& input) {
    const Selection& sel = o.builder.selection;
    LiveConfig c;
    c.archive = true;
    c.port_given = sel.server_port.has_value();
    if (sel.server_port) {
        c.server_port = *sel.server_port;
    } else if (o.builder.default_server_port) {
        c.server_port = *o.builder.default_server_port;
    } else if (const auto busiest = input.busiest_port()) {
        c.server_port = *busiest;
    }
    c.policy = o.builder.policy;
    c.client_nets = sel.client_nets;
    c.sample_percent = sel.sample_percent;
    c.sample_seed = sel.sample_seed;
    c.shard = sel.shard;
    c.shards = sel.shards;
    c.from_ns = sel.from_ns;
    c.to_ns = sel.to_ns;
    if (!o.client_pool && o.transport != TransportMode::Socket) {
        // Sessions of the other IP version cannot be sent to this target without a pool.
        c.ip_version = o.target.addr.version;
    }
    c.copies = o.copies;
    c.max_active = UINT64_MAX;
    c.max_buffer_bytes = UINT64_MAX;
    c.max_session_bytes = UINT64_MAX;
    c.idle_ns = o.builder.idle_ns;
    // A connection over (its copies done) is kept this long in capture time for its late
    // packets, as live passthrough does: 2 s, not the builder's 10 s, as what lingers is memory
    // held while the replay runs.
    c.closed_linger_ns = std::min<uint64_t>(o.builder.closed_linger_ns, 2'000'000'000);
    c.digest_answers = o.builder.digest_answers;
    c.noise = o.builder.noise;
    return c;
}

// The replay, its input read while it runs (source/stream_source.h).
int run_streamed(const ReplayOptions& o, RawIo io, os::MetricsServer* metrics,
                 MetricsSources& metrics_sources) {
    InputStream input(expand_inputs(o.inputs), o.builder.selection.server_port);
    if (!input.recovered_from().empty()) {
        log::warn("%s; replaying what its intact frames hold", input.recovered_from().c_str());
    }
    ArchiveFacts facts;
    facts.input = o.input;
    facts.format = input.format();
    StreamOptions so;
    so.speed_milli = o.speed_milli;
    so.copies = o.copies;
    so.loops = o.loops;
    so.duration_ns = o.duration_ns;
    StreamSource source(input, stream_config(o, input), so, std::move(facts));
    become_user(o, o.loops > 1 ? input.paths() : std::vector<std::string>{});
    RunOutputs out = open_outputs(o);
    const TransportUse use{o.speed_milli, &source.sessions(), out.requests.get()};
    std::unique_ptr<Transport> transport =
        make_transport(source.sessions().recording(), o, use, std::move(io), out.diff.get());
    metrics_sources.transport = transport.get();
    const RunResult run = run_archive_loop(o, source, *transport, metrics);
    const archive::DamageReport damage = input.damage();
    for (const auto& problem : damage.problems) {
        if (input.files() > 1) {
            log::warn("%s (skipped)", problem.c_str());  // the line names its file
        } else {
            log::warn("%s: %s (skipped)", o.input.c_str(), problem.c_str());
        }
    }
    const LiveStats& l = source.sessions().stats();
    if (l.sessions == 0 && !(o.shards > 1 && l.other_shard > 0)) {
        throw Error(ErrorKind::Usage,
                    "nothing to replay in '" + o.input + "': no TCP session matches" +
                        (o.builder.selection.server_port
                             ? " port " + std::to_string(*o.builder.selection.server_port)
                             : std::string()) +
                        (l.other_family > 0 ? " and the target's IP version" : ""));
    }
    if (l.sessions == 0) {
        log::warn("shard %u of %u: no session of '%s' hashes to this shard", o.shard, o.shards,
                  o.input.c_str());
    }
    log::debug("streamed input: at most %s of client bytes held at once",
               human_bytes(source.peak_buffer()).c_str());
    return report_run(o, use, out, *transport, source, run);
}

}  // namespace

int run_replay(const ReplayOptions& o) {
    if (o.verbosity >= 2) {
        log::set_level(log::Level::Debug);
    } else if (o.quiet) {
        log::set_level(log::Level::Warn);
    }
    const bool socket_mode = o.transport == TransportMode::Socket;
    if (!o.dry_run) {
        check_output_paths(o);
    }
    // The packet sender first: without root nothing else matters (the socket transport needs
    // neither root nor intercept).
    RawIo io;
    if (!o.dry_run && !socket_mode) {
        io = open_raw_io(o, "tcpreplay2 pid " + std::to_string(getpid()), "raw replay", o.compare);
    }
    MetricsSources metrics_sources;
    const std::unique_ptr<os::MetricsServer> metrics =
        o.dry_run ? nullptr : open_metrics(o, metrics_sources);
    if (!o.dry_run && !o.in_memory) {
        return run_streamed(o, std::move(io), metrics.get(), metrics_sources);
    }
    ReplayInput in = read_input(o);
    const Recording& rec = in.loaded.recording;
    if (o.dry_run) {
        std::fputs(format_plan(rec, 1000).c_str(), stdout);
        return kExitOk;
    }

    become_user(o, {});
    Scheduler sched = make_scheduler(rec, o);
    ArchiveFacts facts;
    facts.input = o.input;
    facts.format = in.loaded.format;
    facts.frames_damaged = in.loaded.damage.frames_damaged;
    facts.damage = in.loaded.damage.problems;
    facts.sessions_skipped_family = in.other_family;
    ScheduleSource source(rec, sched, std::move(facts));
    RunOutputs out = open_outputs(o);
    const TransportUse use{o.speed_milli, nullptr, out.requests.get()};
    std::unique_ptr<Transport> transport =
        make_transport(rec, o, use, std::move(io), out.diff.get());
    metrics_sources.transport = transport.get();
    const RunResult run = run_archive_loop(o, source, *transport, metrics.get());
    return report_run(o, use, out, *transport, source, run);
}

}  // namespace tcpr::replay
