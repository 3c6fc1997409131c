// Live passthrough's session source: the capture of the online port (os::PacketSource), read
// in batches into LiveSessions; every new session queues its copies, which start at once (a
// copy the transport cannot start, no client endpoint being free, is given up after
// --timeout). Sessions that grow wake their copies through the transport; idle ones expire.
// At SIGINT/SIGTERM or --duration the capture stops: what was captured is still copied, every
// open session ends as captured so far, and the copies get LiveSourceOptions::drain_ns to
// finish before the run loop aborts them. --record writes the capture to an archive meanwhile
// (live_recorder.h).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/os/pcap_source.h"
#include "replayer/sessions/live_sessions.h"
#include "replayer/source/live_recorder.h"
#include "replayer/source/session_source.h"

namespace tcpr::replay {

struct LiveSourceOptions {
    std::string input;                     // the report's input: "live eth0 port 80"
    uint32_t copies = 1;                   // copies started per session (--copies)
    uint64_t give_up_ns = 30'000'000'000;  // a copy not started by then is given up (--timeout)
    std::optional<uint64_t> duration_ns;   // --duration: the capture stops then
    uint64_t drain_ns = 5'000'000'000;     // after the stop, the time copies get to finish
};

class LiveSource final : public SessionSource {
  public:
    // `capture`: open, of a supported link type. `recorder` (may be null: no --record) started.
    LiveSource(std::unique_ptr<os::PacketSource> capture, const LiveConfig& config,
               LiveSourceOptions options, std::unique_ptr<LiveRecorder> recorder);

    // The sessions the transport replays (its Recording and SessionFeed).
    LiveSessions& sessions() { return live_; }
    const LiveSessions& sessions() const { return live_; }

    void begin(os::Epoll& epoll, uint64_t start_ns) override;
    void poll(uint64_t now_ns) override;
    std::optional<DueStart> next_start(uint64_t now_ns) const override;
    void started() override;
    void gave_up() override;
    void update(Transport& transport, uint64_t now_ns) override;
    void upkeep(uint64_t now_ns) override;
    void on_readable(uint64_t tag) override;
    bool done() const override { return !capturing_ && starts_.empty(); }
    uint64_t next_deadline() const override;
    uint64_t abort_at() const override { return capturing_ ? kNever : drain_until_; }
    std::string stop_reason() const override { return stop_reason_; }
    std::string status(const Transport& transport, uint64_t elapsed_ns) const override;

    // After the run: finishes --record and reads the capture's final counters. Call once,
    // before the report.
    void finish();
    // Packets the kernel or the interface dropped (finish()).
    uint64_t capture_drops() const { return drops_; }
    // The same now, during the run (--metrics).
    uint64_t capture_drops_now() const;
    // Why --record failed ("" if it did not or was not asked for).
    std::string record_error() const { return recorder_ ? recorder_->error() : std::string(); }

    void summarize(RunSummary& s) const override;
    std::string summary_text(const RunSummary& s) const override;
    std::string summary_json(const RunSummary& s) const override;

  private:
    struct PendingStart {
        uint32_t session = 0;
        uint32_t copy = 0;
        uint64_t give_up_at = 0;
    };

    void add(const os::CapturedPacket& p, uint64_t now_ns);
    void stop(uint64_t now_ns);

    std::unique_ptr<os::PacketSource> capture_;
    uint32_t link_;
    LiveSessions live_;
    LiveSourceOptions opt_;
    std::unique_ptr<LiveRecorder> recorder_;
    os::Epoll* epoll_ = nullptr;
    int capture_fd_ = -1;
    // The capture may hold packets: epoll said so, or the last read stopped at its batch limit.
    // Reading an empty capture costs a system call (libpcap polls the ring), so it is read only
    // then, not on every wake-up of the loop (each intercept report, each timer).
    bool capture_ready_ = true;
    os::CapturedPacket pkt_;
    std::vector<uint32_t> ids_;
    // Copies to start, in order (the run loop retries the first while no endpoint is free).
    std::deque<PendingStart> starts_;
    uint64_t t0_ = 0, next_sweep_ = 0, drain_until_ = 0;
    bool capturing_ = true;
    std::string stop_reason_;
    uint64_t started_sessions_ = 0;
    uint64_t drops_ = 0;
    std::string recorded_;  // the report's --record line (finish())
};

}  // namespace tcpr::replay
