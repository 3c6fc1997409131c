#include "replayer/sessions/answer_digest.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <utility>

#include "common/base/hash.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kNameSeed = 0x6a09e667f3bcc908ULL;
constexpr uint64_t kValueSeed = 0xbb67ae8584caa73bULL;
constexpr uint64_t kHeadSeed = 0x3c6ef372fe94f82bULL;

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

bool contains_lower(std::string_view text, std::string_view lower_word) {
    const auto it = std::search(
        text.begin(), text.end(), lower_word.begin(), lower_word.end(),
        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    return it != text.end();
}

uint64_t hash_text(std::string_view s, uint64_t seed) {
    uint64_t h = seed;
    uint64_t word = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        word = (word << 8) | static_cast<uint8_t>(s[i]);
        if (i % 8 == 7) {
            h = mix64(h ^ word);
            word = 0;
        }
    }
    return mix64(mix64(h ^ word) ^ s.size());
}

}  // namespace

// --- AnswerDigest ------------------------------------------------------------------------

void AnswerDigest::reset(const CompiledNoiseRules* rules) {
    constexpr size_t kKeep = 64u << 10;
    std::string line = std::move(line_), names = std::move(names_), buffer = std::move(buffer_);
    std::vector<Listed> listed = std::move(listed_);
    *this = AnswerDigest(rules);
    line.clear();
    names.clear();
    listed.clear();
    buffer.clear();
    line_ = std::move(line);
    names_ = std::move(names);
    listed_ = std::move(listed);
    if (buffer.capacity() <= kKeep) {
        buffer_ = std::move(buffer);
    }
}

// Bytes are taken big-endian into 64-bit words: byte by byte up to a word boundary of the
// stream, then a whole word per load (the same words, so the same digest, 8 times fewer steps).
void AnswerDigest::Stream::add(const uint8_t* p, size_t len) {
    size_t i = 0;
    for (; i < len && n % 8 != 0; ++i) {
        word = (word << 8) | p[i];
        if (++n % 8 == 0) {
            h = mix64(h ^ word);
            word = 0;
        }
    }
    const size_t words_from = i;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = mix64(h ^ __builtin_bswap64(w));
    }
    n += i - words_from;
    for (; i < len; ++i) {
        word = (word << 8) | p[i];
        if (++n % 8 == 0) {
            h = mix64(h ^ word);
            word = 0;
        }
    }
}

uint64_t AnswerDigest::Stream::value() const {
    const uint64_t x = n % 8 != 0 ? mix64(h ^ word) : h;
    const uint64_t v = mix64(x ^ n);
    return v != 0 ? v : 1;  // 0 means "not known" in RecordedRequest::body_digest
}

void AnswerDigest::add(std::span<const uint8_t> bytes) {
    cached_ = false;
    const uint8_t* p = bytes.data();
    const size_t n = bytes.size();
    size_t i = 0;
    while (state_ == State::Deciding && i < n) {
        first_[seen_++] = p[i++];
        if (seen_ == sizeof first_) {
            http_ = std::memcmp(first_, "HTTP/", 5) == 0;
            if (http_) {
                state_ = State::Head;
                line_.reserve(128);
                line_.assign(reinterpret_cast<const char*>(first_), seen_);
            } else {
                state_ = State::Body;
                body(first_, seen_);
            }
        }
    }
    if (state_ == State::Head && i < n) {
        head(p, n, i);
    }
    if (state_ == State::Body && i < n) {
        body(p + i, n - i);
    }
}

// Head bytes up to the empty line, a line at a time; a line keeps its first kMaxHeadLine bytes.
void AnswerDigest::head(const uint8_t* p, size_t n, size_t& i) {
    while (state_ == State::Head && i < n) {
        const void* nl = std::memchr(p + i, '\n', n - i);
        const size_t end =
            nl != nullptr ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - p) : n;
        const size_t take = std::min(end - i, kMaxHeadLine - line_.size());
        line_.append(reinterpret_cast<const char*>(p + i), take);
        line_long_ = line_long_ || take < end - i;
        i = end;
        if (nl != nullptr) {
            ++i;
            head_line_end();
        }
    }
}

void AnswerDigest::head_line_end() {
    const bool status_line = lines_ == 0;
    lines_ += lines_ < UINT32_MAX ? 1 : 0;
    long_lines_ += line_long_ ? 1 : 0;
    size_t len = line_.size();
    if (len > 0 && line_[len - 1] == '\r') {
        --len;
    }
    if (len == 0 && !line_long_) {
        // RFC 9112 §2.2: the empty line ends the head (a bare LF is accepted too).
        state_ = State::Body;
        std::string().swap(line_);  // no longer needed while the body streams
        return;
    }
    if (!status_line) {  // the status line is compared elsewhere
        const std::string_view line(line_.data(), len);
        const size_t colon = line.find(':');
        const std::string_view raw_name =
            colon == std::string_view::npos ? line : line.substr(0, colon);
        const std::string_view name = trim(raw_name);
        // Lower-case the name where it lies in line_.
        const size_t off = static_cast<size_t>(name.data() - line_.data());
        for (size_t k = off; k < off + name.size(); ++k) {
            line_[k] = static_cast<char>(std::tolower(static_cast<unsigned char>(line_[k])));
        }
        header(name,
               colon == std::string_view::npos ? std::string_view{} : trim(line.substr(colon + 1)));
    }
    line_.clear();
    line_long_ = false;
}

void AnswerDigest::header(std::string_view name, std::string_view value) {
    if (name == "content-length") {
        int64_t v = 0;
        bool digits = !value.empty();
        for (const char c : value) {
            if (c < '0' || c > '9' || v >= (int64_t{1} << 50)) {
                digits = false;
                break;
            }
            v = v * 10 + (c - '0');
        }
        if (digits) {
            content_length_ = v;
        }
    } else if (name == "transfer-encoding") {
        // RFC 9112 §6.3: chunked framing wins over any Content-Length.
        if (contains_lower(value, "chunked")) {
            chunk_ = Chunk::Size;
        }
    } else if (name == "content-type") {
        json_ = contains_lower(value, "json");
    }
    if (headers_ >= kMaxHeaders) {
        ++dropped_headers_;
        ++unlisted_headers_;
        return;
    }
    ++headers_;
    const uint64_t vh = hash_text(value, kValueSeed);
    if (!rules().ignores_header(name)) {
        // A sum: the headers' order does not count, a repeated header does.
        head_sum_ += mix64(hash_text(name, kNameSeed) ^ mix64(vh));
        ++compared_;
    }
    if (listed_.size() >= kMaxListedHeaders) {
        ++unlisted_headers_;
        return;
    }
    if (listed_.empty()) {
        listed_.reserve(16);
        names_.reserve(256);
    }
    const std::string_view kept = name.substr(0, kMaxHeaderName);
    listed_.push_back(
        {vh, static_cast<uint32_t>(names_.size()), static_cast<uint32_t>(kept.size())});
    names_.append(kept);
}

void AnswerDigest::body(const uint8_t* p, size_t len) {
    if (chunk_ == Chunk::None) {
        payload(p, len);
    } else {
        dechunk(p, len);
    }
}

// RFC 9112 §7.1: chunk-size [; ext] CRLF, data CRLF, ..., 0 CRLF, trailer lines, CRLF. The
// state is a few fields whatever the pieces: sizes and extensions are read a byte at a time.
void AnswerDigest::dechunk(const uint8_t* p, size_t len) {
    size_t i = 0;
    while (i < len) {
        if (chunk_ == Chunk::Data) {
            const size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_left_, len - i));
            payload(p + i, take);
            i += take;
            chunk_left_ -= take;
            if (chunk_left_ == 0) {
                chunk_ = Chunk::DataEnd;
            }
            continue;
        }
        if (chunk_ == Chunk::Broken) {
            payload(p + i, len - i);  // still digested: a difference stays visible
            return;
        }
        if (chunk_ == Chunk::Done) {
            return;  // after the last chunk's trailer: no part of this answer
        }
        const char c = static_cast<char>(p[i++]);
        const bool line_end = c == '\n';
        switch (chunk_) {
            case Chunk::Size: {
                const int hex = c >= '0' && c <= '9'   ? c - '0'
                                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                       : -1;
                if (hex >= 0 && chunk_left_ < (uint64_t{1} << 40)) {
                    chunk_left_ = chunk_left_ * 16 + static_cast<uint64_t>(hex);
                    chunk_digits_ = true;
                } else if (chunk_digits_ && (c == ';' || is_space(c))) {
                    chunk_ = Chunk::Extension;
                } else if (c != '\r' && !line_end) {
                    chunk_ = Chunk::Broken;
                }
                break;
            }
            case Chunk::Extension:
                break;
            case Chunk::DataEnd:
                if (line_end) {
                    chunk_ = Chunk::Size;
                } else if (c != '\r') {
                    chunk_ = Chunk::Broken;
                }
                continue;
            case Chunk::Trailer:
                if (line_end) {
                    if (!trailer_text_) {
                        chunk_ = Chunk::Done;
                    }
                    trailer_text_ = false;
                } else if (c != '\r') {
                    trailer_text_ = true;
                }
                continue;
            default:
                continue;
        }
        if (line_end && (chunk_ == Chunk::Size || chunk_ == Chunk::Extension)) {
            if (!chunk_digits_) {
                chunk_ = Chunk::Broken;
            } else if (chunk_left_ == 0) {
                chunk_ = Chunk::Trailer;
                trailer_text_ = false;
            } else {
                chunk_ = Chunk::Data;
            }
            chunk_digits_ = false;
        }
    }
}

void AnswerDigest::payload(const uint8_t* p, size_t len) {
    body_bytes_ += len;
    if (buffering() && !too_large_) {
        if (buffer_.size() + len <= kMaxNormalizedBody) {
            if (buffer_.empty() && content_length_ > 0 && chunk_ == Chunk::None &&
                static_cast<uint64_t>(content_length_) <= kMaxNormalizedBody) {
                buffer_.reserve(static_cast<size_t>(content_length_));  // one allocation
            }
            buffer_.append(reinterpret_cast<const char*>(p), len);
            return;
        }
        // Too large to normalize: the plain digest of everything, from here on streaming.
        too_large_ = true;
        stream_.add(reinterpret_cast<const uint8_t*>(buffer_.data()), buffer_.size());
        std::string().swap(buffer_);
    }
    stream_.add(p, len);
}

bool AnswerDigest::complete() const {
    if (chunk_ != Chunk::None) {
        return chunk_ == Chunk::Done;
    }
    return content_length_ < 0 ||
           (state_ == State::Body && body_bytes_ >= static_cast<uint64_t>(content_length_));
}

void AnswerDigest::normalize() const {
    if (cached_) {
        return;
    }
    // Fewer than 5 bytes in all: they are the body.
    const std::string_view body =
        state_ == State::Deciding ? std::string_view(reinterpret_cast<const char*>(first_), seen_)
                                  : std::string_view(buffer_);
    const CompiledNoiseRules::Normalized n = rules_->normalize_body(body, http_ && json_);
    Stream s;
    s.add(reinterpret_cast<const uint8_t*>(n.text.data()), n.text.size());
    value_ = s.value();
    json_failed_ = n.json_failed;
    cached_ = true;
}

uint64_t AnswerDigest::value() const {
    if (normalized()) {
        normalize();
        return value_;
    }
    if (state_ == State::Deciding) {
        Stream s = stream_;
        s.add(first_, seen_);
        return s.value();
    }
    return stream_.value();
}

bool AnswerDigest::json_failed() const {
    if (!normalized()) {
        return false;
    }
    normalize();
    return json_failed_;
}

uint64_t AnswerDigest::head_digest() const {
    if (!http_) {
        return 0;
    }
    const uint64_t v = mix64(head_sum_ ^ mix64(kHeadSeed + compared_));
    return v != 0 ? v : 1;
}

std::vector<AnswerDigest::Header> AnswerDigest::headers() const {
    std::vector<Header> out;
    out.reserve(listed_.size());
    for (const Listed& l : listed_) {
        out.push_back({std::string_view(names_).substr(l.name_off, l.name_len), l.value_hash});
    }
    return out;
}

std::vector<std::string> differing_headers(const AnswerDigest& a, const AnswerDigest& b) {
    // Each name with the sum of mix64 of its values: a repeated name is a multiset.
    const auto by_name = [](const AnswerDigest& d) {
        std::vector<std::pair<std::string_view, uint64_t>> v;
        for (const AnswerDigest::Header& h : d.headers()) {
            v.emplace_back(h.name, mix64(h.value_hash));
        }
        std::sort(v.begin(), v.end());
        std::vector<std::pair<std::string_view, uint64_t>> merged;
        for (const auto& [name, hash] : v) {
            if (!merged.empty() && merged.back().first == name) {
                merged.back().second += hash;
            } else {
                merged.emplace_back(name, hash);
            }
        }
        return merged;
    };
    const auto x = by_name(a);
    const auto y = by_name(b);
    std::vector<std::string> out;
    size_t i = 0;
    size_t j = 0;
    while (i < x.size() || j < y.size()) {
        if (j == y.size() || (i < x.size() && x[i].first < y[j].first)) {
            out.emplace_back(x[i++].first);
        } else if (i == x.size() || y[j].first < x[i].first) {
            out.emplace_back(y[j++].first);
        } else {
            if (x[i].second != y[j].second) {
                out.emplace_back(x[i].first);
            }
            ++i;
            ++j;
        }
    }
    return out;
}

}  // namespace tcpr::replay
