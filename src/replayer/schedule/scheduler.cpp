#include "replayer/schedule/scheduler.h"

#include <algorithm>
#include <cassert>

namespace tcpr::replay {

uint64_t scale_time(uint64_t recorded_ns, uint32_t speed_milli) {
    if (speed_milli == 0) {
        return 0;
    }
    // floor(recorded_ns * 1000 / speed_milli) without overflowing 64 bits.
    const uint64_t q = recorded_ns / speed_milli;
    const uint64_t r = recorded_ns % speed_milli;
    return q * 1000u + (r * 1000u) / speed_milli;
}

Scheduler::Scheduler(std::vector<uint64_t> offsets_ns, uint64_t span_ns, ScheduleOptions options)
    : offsets_(std::move(offsets_ns)), opt_(options) {
    assert(std::is_sorted(offsets_.begin(), offsets_.end()));
    opt_.copies = std::max<uint32_t>(opt_.copies, 1);
    opt_.loops = std::max<uint32_t>(opt_.loops, 1);
    const uint64_t span = std::max(span_ns, offsets_.empty() ? 0 : offsets_.back());
    period_ = scale_time(span, opt_.speed_milli);
    if (opt_.speed_milli != 0 && period_ == 0 && opt_.loops > 1) {
        period_ = 1'000'000;  // a one-packet recording: loops 1 ms apart, still in order
    }
}

StartEvent Scheduler::at(uint32_t session, uint32_t copy, uint32_t loop) const {
    StartEvent e;
    e.session = session;
    e.copy = copy;
    e.loop = loop;
    e.due_ns = loop * period_ + scale_time(offsets_[session], opt_.speed_milli);
    return e;
}

std::optional<StartEvent> Scheduler::peek() const {
    if (offsets_.empty() || loop_ >= opt_.loops) {
        return std::nullopt;
    }
    StartEvent e = at(session_, copy_, loop_);
    if (opt_.duration_ns && e.due_ns >= *opt_.duration_ns) {
        return std::nullopt;
    }
    return e;
}

void Scheduler::pop() {
    if (offsets_.empty() || loop_ >= opt_.loops) {
        return;
    }
    ++returned_;
    if (++copy_ < opt_.copies) {
        return;
    }
    copy_ = 0;
    if (++session_ < offsets_.size()) {
        return;
    }
    session_ = 0;
    ++loop_;
}

uint64_t Scheduler::total() const {
    return static_cast<uint64_t>(offsets_.size()) * opt_.copies * opt_.loops;
}

uint64_t Scheduler::last_due_ns() const {
    if (offsets_.empty()) {
        return 0;
    }
    return at(static_cast<uint32_t>(offsets_.size() - 1), 0, opt_.loops - 1).due_ns;
}

}  // namespace tcpr::replay
