#include "replayer/sessions/answer_digest.h"

#include <cctype>
#include <cstring>
#include <string_view>

#include "common/base/hash.h"

namespace tcpr::replay {

void AnswerDigest::add(std::span<const uint8_t> bytes) {
    size_t i = 0;
    while (state_ == 0 && i < bytes.size()) {
        first_[seen_++] = bytes[i++];
        if (seen_ == sizeof first_) {
            const bool http = std::memcmp(first_, "HTTP/", 5) == 0;
            state_ = http ? 1 : 2;
            if (!http) {
                body({first_, seen_});
            }
        }
    }
    while (state_ == 1 && i < bytes.size()) {
        static constexpr char kEnd[] = "\r\n\r\n";
        const char c = static_cast<char>(bytes[i++]);
        match_ = c == kEnd[match_] ? static_cast<uint8_t>(match_ + 1) : (c == '\r' ? 1 : 0);
        if (c == '\n') {
            head_line_end();
        } else if (c != '\r' && line_len_ < sizeof line_) {
            line_[line_len_++] = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (match_ == 4) {
            state_ = 2;  // the body begins after the empty line
        }
    }
    if (state_ == 2 && i < bytes.size()) {
        body(bytes.subspan(i));
    }
}

// A head line ended: "Content-Length: N" says how long the body is.
void AnswerDigest::head_line_end() {
    static constexpr std::string_view kName = "content-length:";
    const std::string_view line(line_, line_len_);
    line_len_ = 0;
    if (line.substr(0, kName.size()) != kName) {
        return;
    }
    int64_t n = 0;
    bool digits = false;
    for (const char c : line.substr(kName.size())) {
        if (c >= '0' && c <= '9' && n < (int64_t{1} << 50)) {
            n = n * 10 + (c - '0');
            digits = true;
        } else if (c != ' ' && c != '\t') {
            return;
        }
    }
    if (digits) {
        content_length_ = n;
    }
}

void AnswerDigest::body(std::span<const uint8_t> bytes) {
    for (const uint8_t b : bytes) {
        word_ = (word_ << 8) | b;
        if (++body_bytes_ % 8 == 0) {
            h_ = mix64(h_ ^ word_);
            word_ = 0;
        }
    }
}

uint64_t AnswerDigest::value() const {
    uint64_t h = h_;
    uint64_t n = body_bytes_;
    if (state_ == 0) {
        // Fewer than 5 bytes in all: they are the body.
        for (uint8_t k = 0; k < seen_; ++k) {
            h = mix64(h ^ first_[k]);
        }
        n = seen_;
    } else if (body_bytes_ % 8 != 0) {
        h = mix64(h ^ word_);
    }
    const uint64_t v = mix64(h ^ n);
    return v != 0 ? v : 1;  // 0 means "not known" in RecordedRequest::body_digest
}

}  // namespace tcpr::replay
