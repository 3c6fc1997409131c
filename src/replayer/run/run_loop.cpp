#include "replayer/run/run_loop.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/base/log.h"
#include "common/base/parse.h"
#include "common/os/clock.h"
#include "common/os/epoll.h"
#include "common/os/status_line.h"
#include "common/os/stop_signal.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kWakeNs = 250'000'000;       // at least this often: progress, signals
constexpr uint64_t kStartRetryNs = 10'000'000;  // no free endpoint: try again in 10 ms

// Starts every copy whose time (minus the transport's lead) has come, in the source's order.
// A start fails when no client endpoint is free (every port of the address lingers at the
// target): the next try is then kStartRetryNs away (`retry_at`), so a run short of endpoints
// does not spend its time probing for them. Returns true when the max-active cap held a start
// back.
bool start_due(SessionSource& source, Transport& transport, uint64_t max_active, uint64_t now,
               uint64_t& retry_at) {
    if (now < retry_at) {
        return false;
    }
    retry_at = 0;
    const uint64_t lead = transport.lead_ns();
    while (const std::optional<DueStart> s = source.next_start(now)) {
        if (s->due_ns > now + lead) {
            break;
        }
        if (now >= s->give_up_at) {
            source.gave_up();
            continue;
        }
        if (transport.active() >= max_active) {
            return true;
        }
        if (!transport.start(s->event, s->due_ns, now)) {
            retry_at = now + kStartRetryNs;
            break;
        }
        source.started();
    }
    return false;
}

// When the loop next has work: the transport's and the source's deadlines, the retry of a
// start, or the next start (unless the cap holds it back); at least every kWakeNs.
uint64_t next_wake(const SessionSource& source, const Transport& transport, uint64_t now,
                   uint64_t retry_at, bool capped) {
    uint64_t next = std::min({transport.next_deadline(), now + kWakeNs, source.next_deadline()});
    if (retry_at != 0) {
        next = std::min(next, retry_at);
    } else if (!capped) {
        if (const std::optional<DueStart> s = source.next_start(now)) {
            const uint64_t lead = transport.lead_ns();
            next = std::min(next, s->due_ns > lead ? s->due_ns - lead : 0);
        }
    }
    return next;
}

// How long from now the run starts: the transport's lead, or until --start-at.
uint64_t start_delay(const RunLoopOptions& opt) {
    if (!opt.start_at_realtime_ns) {
        return opt.start_delay_ns;
    }
    const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    const uint64_t at = *opt.start_at_realtime_ns;
    if (at < now + opt.start_delay_ns) {
        log::warn("--start-at %s is %s: starting now", format_timestamp(at, 3).c_str(),
                  at < now
                      ? ("past by " + format_duration(std::chrono::nanoseconds(now - at))).c_str()
                      : "too close");
        return opt.start_delay_ns;
    }
    log::info("waiting until %s (in %s) to start", format_timestamp(at, 3).c_str(),
              format_duration(std::chrono::nanoseconds(at - now)).c_str());
    return at - now;
}

}  // namespace

RunResult run_loop(SessionSource& source, Transport& transport, const RunLoopOptions& opt) {
    os::Epoll epoll = os::Epoll::create();
    os::use_precise_timers();
    const uint64_t t0 = os::monotonic_ns() + start_delay(opt);
    source.begin(epoll, t0);
    transport.attach(epoll);
    if (opt.metrics != nullptr) {
        if (kMetricsTag + opt.metrics->tags() > Transport::kFirstTag) {
            throw std::logic_error("the metrics server has more tags than the run loop keeps");
        }
        opt.metrics->attach(epoll, kMetricsTag);
    }
    os::StatusLine status(opt.progress, std::chrono::seconds(1), opt.plain_progress_period);
    std::vector<os::Epoll::Event> events;
    RunResult result;
    uint64_t retry_at = 0;

    while (true) {
        const uint64_t now = os::monotonic_ns();
        if (opt.abort_on_signal && os::StopSignal::requested()) {
            result.stop_reason = "signal";
            transport.abort_all(now);
            break;
        }
        source.poll(now);
        const bool capped = start_due(source, transport, opt.max_active, now, retry_at);
        source.update(transport, now);
        transport.on_timer(now);
        transport.flush(now);
        source.upkeep(now);
        if (source.done() && transport.active() == 0) {
            break;
        }
        if (now >= source.abort_at()) {
            transport.abort_all(now);
            break;
        }
        if (opt.duration_ns && now >= t0 + *opt.duration_ns + opt.grace_ns) {
            result.stop_reason = "duration";
            transport.abort_all(now);
            break;
        }
        const auto steady = std::chrono::steady_clock::now();
        if (opt.metrics != nullptr) {
            opt.metrics->on_timer(steady);
        }
        if (status.due(steady)) {
            status.show(source.status(transport, now > t0 ? now - t0 : 0), steady);
        }
        // Sleep until the next deadline (epoll_pwait2: nanosecond timeout, 1 ns timer slack),
        // or up to timer_slack_ns after it when it is not due yet.
        const uint64_t next = next_wake(source, transport, now, retry_at, capped);
        const uint64_t before_sleep = os::monotonic_ns();
        epoll.wait_ns(events, next > before_sleep ? next - before_sleep + opt.timer_slack_ns : 0);
        for (const auto& e : events) {
            if (e.tag >= Transport::kFirstTag) {
                transport.on_event(e, os::monotonic_ns());
            } else if (opt.metrics != nullptr && opt.metrics->owns(e.tag)) {
                opt.metrics->on_event(e, std::chrono::steady_clock::now());
            } else {
                source.on_readable(e.tag);  // it reads them in poll()
            }
        }
    }
    transport.flush(os::monotonic_ns());
    if (opt.metrics != nullptr) {
        opt.metrics->detach();  // the epoll instance ends here
    }
    status.clear();
    const uint64_t end = os::monotonic_ns();
    result.wall_ns = end > t0 ? end - t0 : 0;
    if (result.stop_reason.empty()) {
        result.stop_reason = source.stop_reason();
    }
    return result;
}

}  // namespace tcpr::replay
