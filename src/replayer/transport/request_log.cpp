#include "replayer/transport/request_log.h"

#include <cstdio>
#include <span>

namespace tcpr::replay {
namespace {

constexpr size_t kBufferBytes = 64u << 10;

// A JSON string (control bytes and non-ASCII as \u00XX: the first lines come from the wire).
std::string quoted(std::string_view s) {
    std::string o = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            o += '\\';
            o += ch;
        } else if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            o += buf;
        } else {
            o += ch;
        }
    }
    return o + "\"";
}

std::string digest_text(uint64_t d) {
    if (d == 0) {
        return "null";
    }
    char buf[24];
    std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(d));
    return buf;
}

std::string latency_text(uint32_t us) { return us == kNoLatency ? "null" : std::to_string(us); }

std::string facts(const AnswerFacts& f) {
    return "{\"status\": " + quoted(f.status) + ", \"length\": " + std::to_string(f.length) +
           ", \"body_digest\": " + digest_text(f.body_digest) +
           ", \"head_digest\": " + digest_text(f.head_digest) +
           ", \"first_us\": " + latency_text(f.first_us) +
           ", \"last_us\": " + latency_text(f.last_us) + "}";
}

// "same", "differs" or "unknown" (either side not known).
const char* verdict(uint64_t recorded, uint64_t replayed) {
    return recorded == 0 || replayed == 0 ? "unknown" : recorded == replayed ? "same" : "differs";
}

const char* status_verdict(std::string_view recorded, std::string_view replayed) {
    return recorded.empty() || replayed.empty() ? "unknown"
           : recorded == replayed               ? "same"
                                                : "differs";
}

}  // namespace

void take_digests(const AnswerDigest& d, AnswerFacts& f) {
    f.body_digest = d.known() && d.complete() ? d.value() : 0;
    f.head_digest = d.known() && d.head_complete() ? d.head_digest() : 0;
}

std::string format_request_entry(const RequestEntry& e) {
    return "{\"session\": " + std::to_string(e.session) + ", \"loop\": " + std::to_string(e.loop) +
           ", \"request\": " + std::to_string(e.request) +
           ", \"client\": " + quoted(e.client.to_string()) +
           ", \"endpoint\": " + quoted(e.endpoint) + ", \"recorded\": " + facts(e.recorded) +
           ", \"replayed\": " + facts(e.replayed) + ", \"status\": \"" +
           status_verdict(e.recorded.status, e.replayed.status) + "\", \"body\": \"" +
           verdict(e.recorded.body_digest, e.replayed.body_digest) + "\", \"headers\": \"" +
           verdict(e.recorded.head_digest, e.replayed.head_digest) + "\"}\n";
}

RequestLog::RequestLog(const std::string& path) : file_(os::AtomicFile::create(path)) {}

void RequestLog::add(const RequestEntry& e) {
    ++entries_;
    pending_ += format_request_entry(e);
    if (pending_.size() >= kBufferBytes) {
        file_.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(pending_.data()),
                                             pending_.size()));
        pending_.clear();
    }
}

void RequestLog::commit() {
    file_.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(pending_.data()),
                                         pending_.size()));
    pending_.clear();
    file_.commit();
}

}  // namespace tcpr::replay
