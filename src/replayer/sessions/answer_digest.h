// The digest of an answer's body, to tell whether the target answered a request with the same
// bytes as the recording: over the bytes after an HTTP/1.x head ("HTTP/..." up to the empty
// line: status and headers are compared apart, their Date, ETag, ... differ on every run), or
// over every byte of an answer of another protocol. Fed the answer's bytes in order, in pieces
// of any size (segments, reads); 8 bytes at a time through mix64, so a 100 kB answer costs tens
// of microseconds.
#pragma once

#include <cstdint>
#include <span>

namespace tcpr::replay {

class AnswerDigest {
  public:
    void add(std::span<const uint8_t> bytes);
    // Bytes of the answer are missing (a capture gap, a cut snaplen): no digest.
    void lose() { lost_ = true; }
    bool known() const { return !lost_; }
    // The digest of the body so far (of the whole answer once it is complete).
    uint64_t value() const;
    uint64_t body_bytes() const { return body_bytes_; }
    // False while an HTTP answer's body is shorter than its Content-Length says (its tail has
    // not come yet): such a digest is not the answer's. True when there is no such length.
    bool complete() const {
        return content_length_ < 0 ||
               (state_ == 2 && body_bytes_ >= static_cast<uint64_t>(content_length_));
    }

  private:
    void body(std::span<const uint8_t> bytes);
    void head_line_end();

    uint64_t h_ = 0x9e3779b97f4a7c15ULL;
    uint64_t word_ = 0;        // body bytes not yet mixed (fewer than 8)
    uint64_t body_bytes_ = 0;  // body bytes so far
    uint8_t state_ = 0;        // 0: deciding (first 5 bytes), 1: in an HTTP head, 2: body
    uint8_t match_ = 0;        // progress through "\r\n\r\n" in the head
    uint8_t seen_ = 0;         // first bytes kept while deciding
    uint8_t first_[5] = {};
    bool lost_ = false;
    int64_t content_length_ = -1;  // from the HTTP head; -1: none
    uint8_t line_len_ = 0;         // start of the current head line, lower-cased
    char line_[40] = {};
};

}  // namespace tcpr::replay
