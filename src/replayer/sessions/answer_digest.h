// The digest of an answer, to tell whether the target answered a request as the recording did,
// under the noise rules (noise_rules.h) that say what differs on every run. The body digest
// covers the bytes after an HTTP/1.x head ("HTTP/..." up to the empty line; de-chunked when
// Transfer-Encoding is chunked), or every byte of an answer of another protocol. The head digest
// covers the HTTP headers the rules do not ignore, in any order (the status line is compared
// apart). Fed the answer's bytes in order, in pieces of any size (segments, reads); without body
// rules the body is digested as it streams, 8 bytes at a time through mix64, so a 100 kB answer
// costs tens of microseconds and nothing is buffered.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "replayer/sessions/noise_rules.h"

namespace tcpr::replay {

class AnswerDigest {
  public:
    // The default rules (CompiledNoiseRules::defaults()).
    AnswerDigest() = default;
    // `rules` (nullptr: the defaults) must outlive the digest.
    explicit AnswerDigest(const CompiledNoiseRules* rules) : rules_(rules) {}

    // As a new AnswerDigest(rules), keeping the capacity of its buffers (one digest reused for
    // every answer of a connection allocates nothing per answer; a buffer over 64 KiB is let go).
    void reset(const CompiledNoiseRules* rules);

    void add(std::span<const uint8_t> bytes);
    // Bytes of the answer are missing (a capture gap, a cut snaplen): no digest.
    void lose() { lost_ = true; }
    bool known() const { return !lost_; }

    // The digest of the body so far (of the whole answer once it is complete); never 0. With
    // body rules, of the normalized body (cached until more bytes come).
    uint64_t value() const;
    // Body bytes so far (de-chunked).
    uint64_t body_bytes() const { return body_bytes_; }
    // False while an HTTP answer's body is shorter than its Content-Length says, or a chunked
    // body's last chunk and trailer have not come (or its framing is broken): such a digest is
    // not the answer's. True when there is no such length.
    bool complete() const;

    // Order-insensitive digest of the headers the rules do not ignore (lower-cased name, value
    // trimmed); 0 for an answer of another protocol or before any HTTP head byte.
    uint64_t head_digest() const;
    // The empty line that ends the HTTP head has come.
    bool head_complete() const { return state_ == State::Body && http_; }
    struct Header {
        std::string_view name;  // lower-case (its first kMaxHeaderName bytes)
        uint64_t value_hash;    // of the trimmed value
    };
    // The first kMaxListedHeaders headers, ignored ones too, in order. The views stay valid
    // until the next add().
    std::vector<Header> headers() const;
    // Headers past kMaxHeaders (in no digest) and past kMaxListedHeaders (not in headers()).
    uint32_t dropped_headers() const { return dropped_headers_; }
    uint32_t unlisted_headers() const { return unlisted_headers_; }
    // Head lines longer than kMaxHeadLine: their first kMaxHeadLine bytes were hashed.
    uint32_t long_head_lines() const { return long_lines_; }

    // The body rules were applied to the whole body: false without body rules or when the body
    // was too large (too_large(): digested as it streamed, rules not applied).
    bool normalized() const { return buffering() && !too_large_; }
    bool too_large() const { return too_large_; }
    // The answer said it is JSON but its body did not parse: the raw body was digested, with
    // the regexes applied.
    bool json_failed() const;
    // The chunked framing is broken: the rest was digested as it came, never complete().
    bool chunk_error() const { return chunk_ == Chunk::Broken; }

    static constexpr size_t kMaxHeadLine = 8192;
    static constexpr uint32_t kMaxHeaders = 128;
    static constexpr uint32_t kMaxListedHeaders = 64;
    static constexpr size_t kMaxHeaderName = 128;

  private:
    // The streaming digest: 8 bytes at a time through mix64.
    struct Stream {
        uint64_t h = 0x9e3779b97f4a7c15ULL;
        uint64_t word = 0;  // bytes not yet mixed (fewer than 8)
        uint64_t n = 0;
        void add(const uint8_t* p, size_t len);
        uint64_t value() const;
    };
    enum class State : uint8_t { Deciding, Head, Body };
    enum class Chunk : uint8_t { None, Size, Extension, Data, DataEnd, Trailer, Done, Broken };
    struct Listed {
        uint64_t value_hash;
        uint32_t name_off;  // in names_
        uint32_t name_len;
    };

    const CompiledNoiseRules& rules() const {
        return rules_ != nullptr ? *rules_ : CompiledNoiseRules::defaults();
    }
    bool buffering() const { return rules_ != nullptr && rules_->has_body_rules(); }
    void head(const uint8_t* p, size_t len, size_t& i);
    void head_line_end();
    void header(std::string_view name, std::string_view value);
    void body(const uint8_t* p, size_t len);
    void dechunk(const uint8_t* p, size_t len);
    void payload(const uint8_t* p, size_t len);
    void normalize() const;

    const CompiledNoiseRules* rules_ = nullptr;
    Stream stream_;
    uint64_t body_bytes_ = 0;
    int64_t content_length_ = -1;  // from the HTTP head; -1: none
    State state_ = State::Deciding;
    Chunk chunk_ = Chunk::None;
    bool http_ = false;
    bool lost_ = false;
    bool json_ = false;  // Content-Type says JSON
    bool too_large_ = false;
    bool line_long_ = false;     // the current head line passed kMaxHeadLine
    bool chunk_digits_ = false;  // chunk-size digits seen on this line
    bool trailer_text_ = false;  // the current trailer line is not empty
    uint8_t seen_ = 0;           // first bytes kept while deciding
    uint8_t first_[5] = {};
    uint32_t lines_ = 0;  // head lines ended so far
    uint32_t headers_ = 0;
    uint32_t compared_ = 0;
    uint32_t dropped_headers_ = 0;
    uint32_t unlisted_headers_ = 0;
    uint32_t long_lines_ = 0;
    uint64_t chunk_left_ = 0;
    uint64_t head_sum_ = 0;  // of mix64 of each compared header
    std::string line_;       // the current head line (<= kMaxHeadLine bytes)
    std::string names_;      // listed headers' names
    std::vector<Listed> listed_;
    std::string buffer_;           // the body, with body rules (<= kMaxNormalizedBody)
    mutable bool cached_ = false;  // value_ and json_failed_ hold the normalized body's
    mutable bool json_failed_ = false;
    mutable uint64_t value_ = 0;
};

// Names of the headers (lower-case, sorted) whose values differ between `a` and `b` or that
// only one has, ignored names included (filter with CompiledNoiseRules::ignores_header). A name
// repeated is compared as the multiset of its values.
std::vector<std::string> differing_headers(const AnswerDigest& a, const AnswerDigest& b);

}  // namespace tcpr::replay
