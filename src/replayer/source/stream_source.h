// Archive replay's session source, streamed: the input (input/input_stream.h: archives and
// pcap files merged by time) is read while the replay runs, a little ahead of it, into
// LiveSessions in its archive flavour (live_sessions.h), so memory holds the sessions in flight
// and the read-ahead, not the input. Each session appears when its first packet is read; its
// copies start at their scheduled time (Scheduler's rule: offset from the input's first packet
// / --speed, loop l after l recording spans); its requests are published as they are read and
// keep their recorded think times; bytes every copy is done with are released.
//
// How far ahead it reads:
//  - paced (--speed other than max): up to `lookahead_ns` of recorded time beyond the replay's
//    position (a request further ahead than that is published late, its think time counted
//    from then);
//  - --speed max: while what it holds (client bytes, and about 2 KiB per connection followed)
//    is under `buffer_bytes`: a session of the whole recording's length (a keep-alive
//    connection) runs at the target's pace only if everything recorded alongside it is read
//    and waits, so here memory buys speed, up to that budget. Beyond it, when every started
//    copy waits for input that lies further (nothing moved for `stall_ns`), it reads on
//    regardless, so a run never stalls.
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "replayer/input/input_stream.h"
#include "replayer/sessions/live_sessions.h"
#include "replayer/source/schedule_source.h"
#include "replayer/source/session_source.h"

namespace tcpr::replay {

struct StreamOptions {
    uint32_t speed_milli = 1000;  // 0 = max
    uint32_t copies = 1;
    uint32_t loops = 1;
    std::optional<uint64_t> duration_ns;  // no session starts at or after this
    uint64_t lookahead_ns = 30'000'000'000;
    uint64_t buffer_bytes = 128ull << 20;
    uint64_t stall_ns = 2'000'000;
    int batch = 4096;  // frames read per loop iteration at most
};

class StreamSource final : public SessionSource {
  public:
    // `input` must outlive the source. `config.archive` is set here.
    StreamSource(InputStream& input, LiveConfig config, StreamOptions options, ArchiveFacts facts);

    // The sessions the transport replays (its Recording and SessionFeed).
    LiveSessions& sessions() { return live_; }

    void begin(os::Epoll& epoll, uint64_t start_ns) override;
    void poll(uint64_t now_ns) override;
    std::optional<DueStart> next_start(uint64_t now_ns) const override;
    void started() override;
    void gave_up() override {}  // never: no give_up_at
    void update(Transport& transport, uint64_t now_ns) override;
    void upkeep(uint64_t now_ns) override;
    bool done() const override { return finished_reading_ && waiting_.empty(); }
    uint64_t next_deadline() const override;
    uint64_t abort_at() const override { return kNever; }
    std::string stop_reason() const override { return {}; }
    std::string status(const Transport& transport, uint64_t elapsed_ns) const override;

    void summarize(RunSummary& s) const override;
    std::string summary_text(const RunSummary&) const override { return {}; }
    std::string summary_json(const RunSummary& s) const override { return format_json(s); }

    // Most client bytes held at once (the read-ahead and the sessions in flight).
    uint64_t peak_buffer() const { return live_.stats().peak_buffer; }

  private:
    struct Waiting {
        uint64_t due_ns;  // monotonic
        uint64_t seq;     // arrival order among equal due times
        StartEvent event;
        uint64_t recorded_offset;  // the session's start in recorded time (loops included)
        bool operator>(const Waiting& o) const {
            return due_ns != o.due_ns ? due_ns > o.due_ns : seq > o.seq;
        }
    };

    bool may_read(uint64_t now_ns, uint64_t frame_ts) const;
    void read(uint64_t now_ns);
    void end_of_pass();
    void queue_new();
    uint64_t due_of(uint64_t recorded_ts) const;

    InputStream& in_;
    LiveSessions live_;
    StreamOptions opt_;
    ArchiveFacts facts_;
    uint64_t t0_ = 0;
    InputFrame frame_;
    bool have_frame_ = false;  // frame_ read, not yet fed
    bool finished_reading_ = false;
    bool have_first_ = false;
    uint64_t first_ts_ = 0, last_ts_ = 0;  // the input's first and last capture time
    uint32_t loop_ = 0;
    uint64_t loop_shift_ = 0;  // capture time added to loop_'s frames (loop_ x span)
    uint64_t span_ = 0;        // the input's span, known after the first pass
    std::priority_queue<Waiting, std::vector<Waiting>, std::greater<>> waiting_;
    uint64_t seq_ = 0;
    std::vector<uint32_t> ids_;
    uint64_t sessions_ = 0, started_ = 0;
    uint64_t recorded_pos_ = 0;  // recorded time (loops included) of the last copy started
    uint64_t last_motion_ = 0;   // when a copy last started or the transport last sent
    uint64_t last_sent_ = 0;
    uint64_t now_ = 0;  // the loop's time at the last poll()
    uint64_t next_sweep_ = 0;
    uint64_t capture_now_ = 0;    // the capture time of the last frame fed (loops included)
    uint64_t swept_capture_ = 0;  // capture_now_ at the last expiry sweep
    bool stopped_early_ = false;  // --duration ended the reading
    LiveStats first_pass_;        // what the first pass over the input read
};

}  // namespace tcpr::replay
