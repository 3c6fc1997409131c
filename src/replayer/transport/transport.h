// How session copies reach the target, behind one interface so the run loop (replay.h), the
// scheduler, the report and the options are shared:
//  - raw (RawTransport, raw_transport.h): forged client packets through a raw socket or
//    pcap_inject, the target's answers followed through intercept reports. Full fidelity.
//  - socket (issue 5): one ordinary connect()/send/recv connection per session copy.
// A transport owns its sessions and file descriptors; the run loop owns the epoll instance,
// the clock and the schedule.
#pragma once

#include <cstdint>

#include "common/os/epoll.h"
#include "replayer/schedule/scheduler.h"
#include "replayer/sessions/session_feed.h"
#include "replayer/transport/counters.h"

namespace tcpr::replay {

class Transport {
  public:
    virtual ~Transport() = default;

    // Lets the transport add its descriptors to the run loop's epoll instance. Tags it uses
    // are >= kFirstTag (the run loop keeps the ones below for itself).
    static constexpr uint64_t kFirstTag = 16;
    virtual void attach(os::Epoll& epoll) = 0;

    // How long before a session's due time start() should be called (time to register it
    // with intercept, for example). 0 = at the due time.
    virtual uint64_t lead_ns() const = 0;

    // Begins the session copy `e` to send its first packet at `due_ns` (monotonic). False when
    // it cannot now (e.g. no free client endpoint): the run loop retries later.
    virtual bool start(const StartEvent& e, uint64_t due_ns, uint64_t now_ns) = 0;

    // A descriptor of this transport is ready.
    virtual void on_event(const os::Epoll::Event& event, uint64_t now_ns) = 0;
    // Runs every timer that is due (retransmissions, think times, timeouts, reconnects).
    virtual void on_timer(uint64_t now_ns) = 0;
    // Sends what was queued during this loop iteration (registrations, acknowledgments).
    virtual void flush(uint64_t now_ns) = 0;
    // When on_timer() next has work; UINT64_MAX if never.
    virtual uint64_t next_deadline() const = 0;

    // Live passthrough (a transport made with a SessionFeed): the copies of `session` move on
    // with what the feed now holds (a new request, more bytes, an answer's length, the close).
    // Returns what every copy of the session is done with.
    virtual CopyProgress wake(uint32_t session, uint64_t now_ns) = 0;

    // Sessions started and not finished.
    virtual size_t active() const = 0;
    // Ends every active session now (RST), counted as aborted.
    virtual void abort_all(uint64_t now_ns) = 0;

    virtual const ReplayCounters& counters() const = 0;
    // A short state for the progress line ("intercept: reconnecting"), empty when all is well.
    virtual std::string health() const = 0;
};

}  // namespace tcpr::replay
