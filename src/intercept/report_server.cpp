#include "intercept/report_server.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/os/auth.h"

namespace tcpr::icpt {
namespace {

constexpr uint64_t kListenerTag = 1;
constexpr uint64_t kCaptureTag = 2;
constexpr uint64_t kMetricsTag = 3;  // .. kMetricsTag + MetricsServer::tags() - 1
constexpr uint64_t kFirstReplayerId = 16;
constexpr auto kLinger = std::chrono::seconds(2);  // closing connections: time to read
constexpr size_t kMaxClosing = 64;                 // lingering connections at once
constexpr size_t kMaxRefusedLogged = 4096;         // distinct refused addresses logged
constexpr auto kHousekeepingEvery = std::chrono::milliseconds(500);
constexpr uint32_t kRefusalLinesPerSecond = 10;  // log lines about refused replayers

SteadyTime now_steady() { return std::chrono::steady_clock::now(); }

// The clock of the capture's timestamps (Report::ts_ns), for Reports::sent_ns.
uint64_t now_realtime_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

}  // namespace

// What merging needs of the report encoded last for a replayer (its payload stays encoded).
struct MergeTail {
    uint64_t ts_ns = 0;
    wire::Tuple tuple;
    uint32_t seq = 0;
    uint32_t payload_len = 0;
    uint8_t flags = 0;
    size_t head = 0;  // payload bytes encoded in it
};

struct ReportServer::Replayer {
    Replayer(ReplayerId i, os::TcpConnection c, SteadyTime now)
        : id(i), conn(std::move(c)), connected(now), last_heard(now) {}

    ReplayerId id;
    os::TcpConnection conn;
    std::string name;  // from Hello: "tcpreplay2 pid 1234"
    SteadyTime connected, last_heard;
    bool hello_done = false;           // accepted: Hello (and Auth, with a key) done, HelloAck sent
    std::optional<wire::Hello> hello;  // received, waiting for Auth
    std::optional<wire::Challenge> challenge;  // sent with a key
    uint32_t features = 0;                     // granted
    uint64_t refused = 0;                      // registrations not granted
    bool closing = false;  // Error sent; waiting for the peer to close (or kLinger)
    bool dead = false;     // queued for removal
    bool watching_write = false;
    std::vector<uint8_t> pending;  // reports encoded, not yet framed
    uint32_t pending_count = 0;
    size_t max_payload = wire::kMaxPayloadHead;  // kMaxPayloadBytes: asked for payloads
    // kFeatureMerge granted: the last report in `pending` (encoded from pending_last_at on),
    // which the next one of the same tuple may extend.
    bool merge = false;
    bool has_last = false;
    MergeTail last;
    size_t pending_last_at = 0;
    uint64_t reported = 0, dropped = 0;
    bool warned_slow = false;
    SteadyTime last_sent{};  // when its last frame was written out (ServerOptions::coalesce)
    bool dirty = false;      // listed in ReportServer::dirty_

    std::string label() const {
        return (name.empty() ? std::string("replayer") : "'" + name + "'") + " at " +
               conn.peer().to_string();
    }
};

ReportServer::ReportServer(const ServerOptions& options, ResponseCapture* capture)
    : opt_(options),
      capture_(capture),
      listener_(os::TcpListener::listen(options.bind)),
      epoll_(os::Epoll::create()),
      router_(options.expiry) {
    epoll_.add(listener_.fd(), os::Epoll::kReadable, kListenerTag);
    if (capture_ != nullptr && capture_->fd() >= 0) {
        epoll_.add(capture_->fd(), os::Epoll::kReadable, kCaptureTag);
    }
}

ReportServer::~ReportServer() {
    if (metrics_ != nullptr) {
        metrics_->detach();  // its connections are on our epoll instance
    }
}

ReportServer::Replayer* ReportServer::find(ReplayerId id) {
    const auto it = replayers_.find(id);
    return it == replayers_.end() || it->second->dead ? nullptr : it->second.get();
}

void ReportServer::attach_metrics(os::MetricsServer* metrics) {
    if (kMetricsTag + metrics->tags() > kFirstReplayerId) {
        throw std::logic_error("the metrics server has more tags than intercept keeps");
    }
    metrics_ = metrics;
    metrics_->attach(epoll_, kMetricsTag);
}

uint64_t ReportServer::queued_bytes() const {
    uint64_t n = 0;
    for (const auto& [id, r] : replayers_) {
        n += r->pending.size() + r->conn.queued_bytes();
    }
    return n;
}

void ReportServer::run(const std::function<bool()>& should_stop) {
    while (!should_stop()) {
        if (capture_ != nullptr && capture_->ended()) {
            break;
        }
        // A capture without a selectable fd (a file) is polled on every turn.
        const bool poll_capture = capture_ != nullptr && capture_->fd() < 0;
        step(poll_capture ? 0 : 50);
    }
    flush();
}

void ReportServer::step(int max_wait_ms) {
    uint64_t wait_ns = static_cast<uint64_t>(std::max(max_wait_ms, 0)) * 1'000'000u;
    if (next_due_ != SteadyTime::max()) {
        const auto left = next_due_ - now_steady();
        wait_ns = left.count() <= 0
                      ? 0
                      : std::min<uint64_t>(
                            wait_ns, static_cast<uint64_t>(std::chrono::nanoseconds(left).count()));
    }
    epoll_.wait_ns(events_, wait_ns);
    const SteadyTime now = now_steady();
    bool capture_ready = capture_ != nullptr && capture_->fd() < 0;
    for (const os::Epoll::Event& ev : events_) {
        if (ev.tag == kListenerTag) {
            on_accept();
        } else if (ev.tag == kCaptureTag) {
            capture_ready = true;
        } else if (metrics_ != nullptr && metrics_->owns(ev.tag)) {
            metrics_->on_event(ev, now);
        } else if (Replayer* r = find(ev.tag)) {
            on_replayer_event(*r, ev, now);
        }
    }
    if (capture_ready) {
        on_capture(now);
    } else if (now >= next_due_) {
        flush_due(now);
    }
    if (metrics_ != nullptr) {
        metrics_->on_timer(now);
    }
    if (now >= next_housekeeping_) {
        housekeeping(now);
        next_housekeeping_ = now + kHousekeepingEvery;
    }
    reap();
}

void ReportServer::on_accept() {
    // Accept what is waiting, a bounded number per turn so the capture is never starved.
    for (int i = 0; i < 64; ++i) {
        os::TcpListener::Accepted a = listener_.accept();
        if (!a.connection) {
            if (a.error != 0) {
                // Out of descriptors (or another persistent failure): the listener would stay
                // readable and spin the loop, so stop watching it until the next housekeeping.
                log::warn("cannot accept a replayer connection: %s (pausing accepts)",
                          std::strerror(a.error));
                epoll_.remove(listener_.fd());
                listener_paused_ = true;
            }
            return;
        }
        const SteadyTime now = now_steady();
        const net::IpAddress from = a.connection->peer().addr;
        const ReplayerId id = next_id_++;
        auto r = std::make_unique<Replayer>(id, std::move(*a.connection), now);
        r->conn.set_max_queued_bytes(opt_.max_queued_bytes);
        if (!opt_.allow.allows(from)) {
            // Closed at once (no linger: a stranger holds nothing here), after one try to
            // write why, which a replayer prints.
            ++stats_.replayers_refused;
            log_refusal(from,
                        "refused a replayer connection from " + from.to_string() +
                            ": not in the allow-list (" + opt_.allow.to_string() +
                            "; widen it with --allow)",
                        now);
            r->conn.send(wire::ErrorMsg{"address " + from.to_string() +
                                        " is not allowed to use this intercept (its --allow)"});
            (void)r->conn.flush();
            r->conn.shutdown_write();
            (void)r->conn.discard_input();
            continue;  // r goes out of scope: closed
        }
        log::debug("connection from %s", r->conn.peer().to_string().c_str());
        epoll_.add(r->conn.fd(), os::Epoll::kReadable, id);
        replayers_.emplace(id, std::move(r));
    }
}

void ReportServer::on_capture(SteadyTime now) {
    capture_->poll(opt_.capture_batch, opt_.flush_interval,
                   [&](const wire::Report& rep) { submit(rep, now); });
    flush_due(now_steady());
}

void ReportServer::submit(const wire::Report& rep, SteadyTime now) {
    ++stats_.reports_built;
    const auto owner = router_.route(rep.tuple, now);
    if (!owner) {
        ++stats_.unroutable;
        return;
    }
    Replayer* r = find(*owner);
    if (r == nullptr || r->closing) {
        ++stats_.dropped_closed;
        return;
    }
    if (!r->dirty) {
        r->dirty = true;
        dirty_.push_back(r->id);
    }
    // A frame's body stays within kMaxBodyBytes: the next report may be a whole one.
    constexpr size_t kFrameFull =
        wire::kMaxBodyBytes - wire::kReportsBodyOverhead - wire::kMaxReportBytes;
    if (r->merge && merge_into(*r, rep)) {
        ++stats_.reports_merged;
        if (r->pending.size() > kFrameFull) {
            flush_replayer(*r);
        }
        return;
    }
    if (r->merge) {
        r->has_last = true;
        r->last =
            MergeTail{rep.ts_ns,
                      rep.tuple,
                      rep.seq,
                      rep.payload_len,
                      rep.flags,
                      std::min({rep.payload_head.size(), r->max_payload, size_t{rep.payload_len}})};
        r->pending_last_at = r->pending.size();
    }
    wire::append_report(rep, r->pending, r->max_payload, r->merge);
    ++r->pending_count;
    if (r->pending_count == wire::kMaxReportsPerFrame || r->pending.size() > kFrameFull) {
        flush_replayer(*r);  // it stays in dirty_: the frame is written out with the next ones
    }
}

// The next data segment of the tuple whose data segment was reported last, in sequence, in the
// same frame: that report grows by it (in place) instead of a new one being added. Its head
// takes the segment's bytes while it holds the whole payload so far and stays within the
// replayer's limit; a replayer that gets payloads (kFeaturePayload) gets a merged report only
// with every byte in it.
bool ReportServer::merge_into(Replayer& r, const wire::Report& rep) {
    using namespace net::tcp_flags;
    MergeTail& last = r.last;
    constexpr uint8_t kEnds = kSyn | kFin | kRst;
    if (!r.has_last || rep.payload_len == 0 || last.payload_len == 0 || (last.flags & kEnds) != 0 ||
        (rep.flags & (kSyn | kRst)) != 0 || !(rep.tuple == last.tuple) ||
        rep.seq != last.seq + last.payload_len || rep.ts_ns < last.ts_ns ||
        rep.ts_ns - last.ts_ns > UINT32_MAX ||
        uint64_t{last.payload_len} + rep.payload_len > UINT32_MAX / 2) {
        return false;
    }
    const bool whole = last.head == last.payload_len && rep.payload_head.size() >= rep.payload_len;
    size_t more = 0;
    if (r.max_payload == wire::kMaxPayloadBytes) {
        if (!whole || uint64_t{last.payload_len} + rep.payload_len > wire::kMaxPayloadBytes) {
            return false;  // every byte, in reports of at most kMaxPayloadBytes
        }
        more = rep.payload_len;
    } else if (last.head == last.payload_len) {
        more = std::min({r.max_payload - std::min(r.max_payload, last.head),
                         rep.payload_head.size(), size_t{rep.payload_len}});
    }
    wire::grow_report(r.pending, r.pending_last_at, rep,
                      static_cast<uint32_t>(rep.ts_ns - last.ts_ns),
                      std::span<const uint8_t>(rep.payload_head.data(), more));
    last.payload_len += rep.payload_len;
    last.flags |= rep.flags;
    last.head += more;
    return true;
}

void ReportServer::flush() { send_dirty(now_steady(), false); }

void ReportServer::flush_due(SteadyTime now) { send_dirty(now, true); }

// Frames and writes out the batched reports of every listed replayer; with `hold`, those whose
// previous frame left less than ServerOptions::coalesce ago keep theirs until then.
void ReportServer::send_dirty(SteadyTime now, bool hold) {
    next_due_ = SteadyTime::max();
    size_t kept = 0;
    for (const ReplayerId id : dirty_) {
        Replayer* r = find(id);
        if (r == nullptr) {
            continue;
        }
        const SteadyTime due = r->last_sent + opt_.coalesce;
        if (hold && now < due && r->conn.queued_bytes() == 0) {
            // Held: its previous frame left less than `coalesce` ago (a full frame does not
            // wait: it is queued already).
            dirty_[kept++] = id;
            next_due_ = std::min(next_due_, due);
            continue;
        }
        r->dirty = false;
        flush_replayer(*r);
        write_out(*r);
        r->last_sent = now;
    }
    dirty_.resize(kept);
}

void ReportServer::flush_replayer(Replayer& r) {
    if (r.pending_count == 0) {
        return;
    }
    frame_scratch_.clear();
    wire::append_reports_frame(r.pending, r.pending_count, now_realtime_ns(), frame_scratch_,
                               r.merge);
    if (r.conn.queue(frame_scratch_)) {
        stats_.reported += r.pending_count;
        r.reported += r.pending_count;
        ++stats_.frames_sent;
    } else {
        stats_.dropped_slow += r.pending_count;
        r.dropped += r.pending_count;
        if (!r.warned_slow) {
            r.warned_slow = true;
            log::warn(
                "%s reads too slowly: its queue is full (%zu bytes, limit %zu), "
                "dropping reports",
                r.label().c_str(), r.conn.queued_bytes(), r.conn.max_queued_bytes());
        }
    }
    r.pending.clear();
    r.pending_count = 0;
    r.has_last = false;
}

void ReportServer::write_out(Replayer& r) {
    if (!r.conn.wants_write()) {
        return;
    }
    const os::IoStatus st = r.conn.flush();
    if (st == os::IoStatus::Closed) {
        close_now(r, r.conn.error().c_str());
        return;
    }
    if (st == os::IoStatus::Ok && r.closing) {
        r.conn.shutdown_write();
    }
    update_interest(r);
}

void ReportServer::update_interest(Replayer& r) {
    const bool want = r.conn.wants_write();
    if (want != r.watching_write && !r.dead) {
        epoll_.modify(r.conn.fd(), os::Epoll::kReadable | (want ? os::Epoll::kWritable : 0), r.id);
        r.watching_write = want;
    }
}

void ReportServer::on_replayer_event(Replayer& r, const os::Epoll::Event& ev, SteadyTime now) {
    if (ev.writable || ev.hangup) {
        write_out(r);
        if (r.dead) {
            return;
        }
    }
    if (!ev.readable && !ev.hangup) {
        return;
    }
    if (r.closing) {
        if (r.conn.discard_input() == os::IoStatus::Closed) {
            close_now(r, nullptr);
        }
        return;
    }
    const os::IoStatus st = r.conn.receive();
    r.last_heard = now;
    while (!r.dead && !r.closing) {
        wire::DecodeResult d = r.conn.next_message();
        if (d.status == wire::DecodeStatus::NeedMore) {
            break;
        }
        if (d.status != wire::DecodeStatus::Ok) {
            ++stats_.protocol_errors;
            log::warn("%s sent a bad frame (%s): closing", r.label().c_str(),
                      wire::to_string(d.status));
            if (d.status == wire::DecodeStatus::BadVersion && !r.hello_done) {
                // An older replayer: refused in words it can read (an Error framed as its
                // version; docs/intercept-protocol.md, "Versioning").
                fail(r,
                     "this intercept speaks protocol version " +
                         std::to_string(wire::kProtocolVersion) +
                         ", the replayer another: use a tcpreplay2 of the intercept's release",
                     true);
                break;
            }
            fail(r, std::string("bad frame: ") + wire::to_string(d.status));
            break;
        }
        handle_message(r, std::move(*d.message), now);
    }
    if (st == os::IoStatus::Closed && !r.dead) {
        close_now(r, r.conn.error().c_str());
        return;
    }
    if (!r.dead) {
        write_out(r);  // Ping echoes, HelloAck
    }
}

void ReportServer::handle_message(Replayer& r, wire::Message&& m, SteadyTime now) {
    if (!r.hello_done) {
        if (r.hello) {
            // A key is configured: the second message must be the Auth for our Challenge.
            auto* auth = std::get_if<wire::Auth>(&m);
            if (std::holds_alternative<wire::ErrorMsg>(m)) {
                ++stats_.auth_failed;
                log_refusal(r.conn.peer().addr,
                            "refused " + r.label() + ": it has no key (" +
                                std::get<wire::ErrorMsg>(m).reason + ")",
                            now);
                close_now(r, nullptr);
                return;
            }
            if (auth == nullptr) {
                ++stats_.protocol_errors;
                fail(r, "expected Auth after the Challenge");
                return;
            }
            if (!os::auth_valid(opt_.auth_key, *r.challenge, *r.hello, *auth)) {
                ++stats_.auth_failed;
                log_refusal(r.conn.peer().addr,
                            "refused " + r.label() + ": authentication failed (wrong key)", now);
                fail(r,
                     "authentication failed: the replayer's key is not this intercept's "
                     "(--auth-key)");
                return;
            }
            accept_replayer(r, now);
            return;
        }
        auto* hello = std::get_if<wire::Hello>(&m);
        if (hello == nullptr) {
            ++stats_.protocol_errors;
            fail(r, "the first message must be Hello");
            return;
        }
        if (hello->version != wire::kProtocolVersion) {
            ++stats_.protocol_errors;
            fail(r, "protocol version " + std::to_string(hello->version) +
                        " is not supported (this intercept speaks version " +
                        std::to_string(wire::kProtocolVersion) + ")");
            return;
        }
        r.name = hello->name;
        r.features = hello->features & wire::kKnownFeatures;
        if (opt_.auth_key.empty()) {
            accept_replayer(r, now);
            return;
        }
        if ((hello->features & wire::kFeatureAuth) == 0) {
            ++stats_.auth_failed;
            log_refusal(r.conn.peer().addr,
                        "refused " + r.label() + ": it cannot authenticate (an older tcpreplay2)",
                        now);
            fail(r,
                 "this intercept requires authentication with a shared key (--auth-key); "
                 "this tcpreplay2 cannot authenticate: use one of the intercept's release");
            return;
        }
        r.hello = std::move(*hello);
        r.challenge = os::make_challenge();
        r.conn.send(*r.challenge);
        return;
    }
    if (auto* reg = std::get_if<wire::Register>(&m)) {
        wire::Refused refused;
        for (const wire::Tuple& t : reg->tuples) {
            if (router_.add(r.id, t, now) == ReportRouter::AddOutcome::Refused) {
                refused.tuples.push_back(t);
            }
        }
        if (!refused.tuples.empty()) {
            r.refused += refused.tuples.size();
            if (r.refused == refused.tuples.size()) {  // its first refusal: one line
                const wire::Tuple& t = refused.tuples.front();
                log::warn(
                    "%s: registration of %s -> %s refused: another replayer holds it (further "
                    "refusals of this replayer are counted, not logged)",
                    r.label().c_str(), t.client.to_string().c_str(), t.server.to_string().c_str());
            }
            if ((r.features & wire::kFeatureRefusals) != 0) {
                r.conn.send(refused);
            }
        }
    } else if (auto* unreg = std::get_if<wire::Unregister>(&m)) {
        for (const wire::Tuple& t : unreg->tuples) {
            router_.remove(r.id, t);
        }
    } else if (auto* ping = std::get_if<wire::Ping>(&m)) {
        // The echo follows every report queued before it: a replayer that sent
        // Register then Ping knows, on the echo, that the registration is in force.
        flush_replayer(r);
        if (!r.conn.send(*ping)) {
            log::debug("%s: Ping echo dropped, queue full", r.label().c_str());
        }
    } else if (auto* err = std::get_if<wire::ErrorMsg>(&m)) {
        log::info("%s closed with an error: %s", r.label().c_str(), err->reason.c_str());
        close_now(r, nullptr);
    } else {
        ++stats_.protocol_errors;
        fail(r, "unexpected message from a replayer");
    }
}

void ReportServer::accept_replayer(Replayer& r, SteadyTime /*now*/) {
    r.hello.reset();
    r.challenge.reset();
    r.hello_done = true;
    ++stats_.replayers_seen;
    if ((r.features & wire::kFeaturePayload) != 0) {
        r.max_payload = wire::kMaxPayloadBytes;  // it compares answer bodies
    }
    r.merge = (r.features & wire::kFeatureMerge) != 0;
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(opt_.expiry).count();
    r.conn.send(wire::HelloAck{wire::kProtocolVersion, static_cast<uint32_t>(secs), r.features});
    log::info("%s connected%s%s", r.label().c_str(), opt_.auth_key.empty() ? "" : " (key verified)",
              r.features & wire::kFeaturePayload ? " (answers with their payloads)" : "");
}

void ReportServer::log_refusal(const net::IpAddress& from, const std::string& line,
                               SteadyTime now) {
    if (refused_logged_.size() >= kMaxRefusedLogged || !refused_logged_.insert(from).second) {
        ++refusals_unlogged_;
        return;
    }
    if (now - refusal_window_ >= std::chrono::seconds(1)) {
        refusal_window_ = now;
        refusal_lines_ = 0;
    }
    if (refusal_lines_ >= kRefusalLinesPerSecond) {
        ++refusals_unlogged_;
        refused_logged_.erase(from);  // logged when it comes back, if the rate allows
        return;
    }
    ++refusal_lines_;
    log::warn("%s", line.c_str());
}

void ReportServer::fail(Replayer& r, const std::string& reason, bool legacy) {
    r.closing = true;
    r.pending.clear();
    r.pending_count = 0;
    if (r.hello_done) {
        router_.drop_replayer(r.id);
    }
    r.conn.set_max_queued_bytes(r.conn.queued_bytes() + wire::kHeaderBytes + 2 +
                                wire::kMaxTextBytes);
    if (legacy) {
        r.conn.queue(wire::encode_legacy_error(reason));
    } else {
        r.conn.send(wire::ErrorMsg{reason});
    }
    r.last_heard = now_steady();  // the linger starts now
    write_out(r);
}

void ReportServer::close_now(Replayer& r, const char* why) {
    if (r.dead) {
        return;
    }
    r.dead = true;
    const size_t dropped = router_.drop_replayer(r.id);
    if (r.hello_done && !r.closing) {
        log::info(
            "%s disconnected (%s): %llu reports sent, %llu dropped, %zu registrations "
            "released",
            r.label().c_str(), why != nullptr && *why != 0 ? why : "closed",
            static_cast<unsigned long long>(r.reported), static_cast<unsigned long long>(r.dropped),
            dropped);
    }
    epoll_.remove(r.conn.fd());
    dead_.push_back(r.id);
}

void ReportServer::housekeeping(SteadyTime now) {
    if (listener_paused_) {
        epoll_.add(listener_.fd(), os::Epoll::kReadable, kListenerTag);
        listener_paused_ = false;
    }
    for (auto& [id, rp] : replayers_) {
        Replayer& r = *rp;
        if (r.dead) {
            continue;
        }
        if (r.closing) {
            if (now - r.last_heard >= kLinger) {
                close_now(r, nullptr);
            }
        } else if (!r.hello_done && now - r.connected >= opt_.hello_timeout) {
            ++stats_.idle_closed;
            const char* what = r.hello ? "no Auth (the Challenge's answer)" : "no Hello";
            log::warn("connection from %s sent %s in time: closing",
                      r.conn.peer().to_string().c_str(), what);
            fail(r, std::string(what) + " received in time");
        } else if (r.hello_done && now - r.last_heard >= opt_.idle_timeout) {
            ++stats_.idle_closed;
            log::warn("%s silent for too long: closing", r.label().c_str());
            fail(r, "idle for too long (send Ping to keep a connection open)");
        }
    }
    router_.expire(now);
}

void ReportServer::reap() {
    for (const ReplayerId id : dead_) {
        replayers_.erase(id);  // closes the socket
    }
    dead_.clear();
}

ServerStats ReportServer::stats() const {
    ServerStats s = stats_;
    s.registrations_refused = router_.counters().refused;
    s.registrations_expired = router_.counters().expired;
    return s;
}

size_t ReportServer::replayers() const {
    size_t n = 0;
    for (const auto& [id, r] : replayers_) {
        n += (r->hello_done && !r->closing && !r->dead) ? 1 : 0;
    }
    return n;
}

}  // namespace tcpr::icpt
